using Microsoft.Extensions.DependencyInjection;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Tests.Routing;

/// <summary>
/// The per-chain compiled method table (<see cref="MethodModel"/>): eligible upstreams and traits are
/// decided once per config snapshot and give the same answers as matching the config's globs on each
/// request (the rule MethodRouter applied per request before), for literal, glob and unknown names.
/// </summary>
public sealed class MethodModelTests
{
    private static ChainOptions Chain() => new()
    {
        Name = "mainnet",
        ChainId = 1,
        Upstreams =
        [
            new() { Name = "local", Url = "http://127.0.0.1:1", Methods = new() { Deny = ["trace_*", "debug_*"] } },
            new() { Name = "provider", Url = "http://127.0.0.1:2", Methods = new() { Deny = ["debug_*"] } },
            new() { Name = "archive", Url = "http://127.0.0.1:3", Methods = new() { Allow = ["trace_*", "debug_*", "eth_getLogs"] } },
        ],
        Routes =
        [
            new() { Methods = ["eth_call", "eth_estimateGas"], Upstreams = ["local", "provider"] },
            new() { Methods = ["eth_*"], Upstreams = ["local"] },
            new() { Methods = ["debug_traceCall"], Upstreams = ["local"] },
        ],
    };

    /// <summary>Config cases: globs and literals in allow/deny and routes, a catch-all route, send and shed lists, per-method timeouts.</summary>
    public static TheoryData<string> Configs() =>
    [
        "mixed",
        "no_rules",
        "catch_all_route",
        "literal_only",
        "globs_everywhere",
    ];

    private static ChainOptions Config(string name) => name switch
    {
        "mixed" => Chain(),
        "no_rules" => new ChainOptions
        {
            Name = "c",
            ChainId = 1,
            Upstreams = [new() { Name = "a", Url = "http://127.0.0.1:1" }, new() { Name = "b", Url = "http://127.0.0.1:2" }],
        },
        "catch_all_route" => new ChainOptions
        {
            Name = "c",
            ChainId = 1,
            Upstreams = [new() { Name = "a", Url = "http://127.0.0.1:1" }, new() { Name = "b", Url = "http://127.0.0.1:2", Methods = new() { Deny = ["custom_secret"] } }],
            Routes = [new() { Methods = ["eth_sendRawTransaction"], Upstreams = ["a"] }, new() { Methods = ["*"], Upstreams = ["b"] }],
        },
        "literal_only" => new ChainOptions
        {
            Name = "c",
            ChainId = 1,
            Upstreams =
            [
                new() { Name = "a", Url = "http://127.0.0.1:1", Methods = new() { Allow = ["custom_read", "eth_call"] } },
                new() { Name = "b", Url = "http://127.0.0.1:2", Methods = new() { Deny = ["eth_call"] } },
            ],
            Routes = [new() { Methods = ["custom_routed"], Upstreams = ["b"] }],
            Routing = new RoutingOptions { Timeouts = new TimeoutOptions { Methods = new() { ["custom_slow"] = TimeSpan.FromSeconds(30), ["odd*key"] = TimeSpan.FromSeconds(9) } } },
        },
        "globs_everywhere" => new ChainOptions
        {
            Name = "c",
            ChainId = 1,
            Upstreams =
            [
                new() { Name = "a", Url = "http://127.0.0.1:1", Methods = new() { Allow = ["eth_get*ByHash", "*Bundle*"], Deny = ["eth_getBlockByHash"] } },
                new() { Name = "b", Url = "http://127.0.0.1:2", Methods = new() { Deny = ["*_x"] } },
                new() { Name = "c", Url = "http://127.0.0.1:3" },
            ],
            Routes = [new() { Methods = ["custom_*_x", "foo*"], Upstreams = ["b", "c"] }],
            Routing = new RoutingOptions { Broadcast = ["eth_sendRaw*", "custom_send"], Fanout = ["*Bundle"], Consistency = new ConsistencyOptions { Verify = new VerifyOptions { Methods = ["eth_get*"] } } },
            Degradation = new DegradationOptions { ShedInDegraded = ["debug_*", "custom_*"] },
        },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static readonly string[] Probes =
    [
        "eth_call", "eth_estimateGas", "eth_getBalance", "eth_getLogs", "eth_getBlockByHash", "eth_getTransactionByHash",
        "eth_sendRawTransaction", "eth_sendRawTransactionX", "eth_sendBundle", "eth_callBundle", "mev_sendBundle",
        "trace_block", "trace_unknownVariant", "debug_traceCall", "debug_traceTransaction", "debug_somethingNew",
        "net_version", "custom_read", "custom_routed", "custom_slow", "custom_secret", "custom_send", "custom_a_x",
        "custom_unlisted", "foo", "foobar", "odd*key", "never_heard_of", "", "*",
    ];

    /// <summary>The per-request decision MethodRouter made before the table was compiled (kept here as the oracle).</summary>
    private static bool[] PerRequest(ChainOptions chain, string method)
    {
        var route = chain.Routes.FirstOrDefault(r => MethodGlob.MatchesAny(r.Methods, method));
        return [.. chain.Upstreams.Select(u =>
            (u.Methods.Allow.Count == 0 || MethodGlob.MatchesAny(u.Methods.Allow, method))
            && !MethodGlob.MatchesAny(u.Methods.Deny, method)
            && (route is null || route.Upstreams.Contains(u.Name)))];
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void The_compiled_table_answers_as_the_per_request_globs_did(string config)
    {
        var chain = Config(config);
        var model = new MethodModel(chain);
        var routing = chain.Routing;

        foreach (var method in Probes.Concat(KnownMethods.All))
        {
            var traits = model[method];
            var expected = PerRequest(chain, method);
            Assert.True(expected.SequenceEqual(traits.Eligible.ToArray()), $"{config}: {method}");
            Assert.Equal(expected.Any(e => e), traits.Eligible.Any);
            Assert.Equal(HedgePolicy.IsHedgeable(method, routing), traits.Hedgeable);
            Assert.Equal(MethodGlob.MatchesAny(routing.Broadcast, method), traits.Broadcast);
            Assert.Equal(MethodGlob.MatchesAny(routing.Fanout, method), traits.Fanout);
            Assert.Equal(MethodGlob.MatchesAny(chain.Degradation.ShedInDegraded, method), traits.ShedInDegraded);
            Assert.Equal(MethodGlob.MatchesAny(routing.Consistency.Verify.Methods, method), traits.Verified);
            Assert.Equal(routing.Timeouts.Methods.TryGetValue(method, out var own) ? own : null, traits.Timeout);
            Assert.Equal(routing.Timeouts.Methods.TryGetValue(method, out var perMethod) ? perMethod : routing.Timeouts.Default, traits.Deadline);
        }
    }

    [Theory]
    [InlineData("eth_call", new[] { true, true, false })]             // first route wins (not eth_*)
    [InlineData("eth_getBalance", new[] { true, false, false })]      // eth_* route
    [InlineData("eth_getLogs", new[] { true, false, false })]         // route restricts although archive allows it
    [InlineData("trace_block", new[] { false, true, true })]          // no route: allow/deny only
    [InlineData("debug_traceTransaction", new[] { false, false, true })]
    [InlineData("debug_traceCall", new[] { false, false, false })]    // route to local, which denies debug_*
    [InlineData("net_version", new[] { true, true, false })]
    [InlineData("never_heard_of", new[] { true, true, false })]       // fallback entry: archive's allow list names nothing like it
    [InlineData("eth_brandNew", new[] { true, false, false })]        // not compiled, but the eth_* route matches it
    public void Allow_deny_then_first_matching_route(string method, bool[] expected)
    {
        var traits = new MethodModel(Chain())[method];
        Assert.Equal(expected, traits.Eligible.ToArray());
        Assert.Equal(expected.Any(e => e), traits.Eligible.Any);
    }

    [Fact]
    public void Known_and_literal_names_are_compiled_and_unmatched_names_share_the_fallback_entry()
    {
        var model = new MethodModel(Config("literal_only"));
        var names = model.Names.ToHashSet();

        Assert.Contains("custom_read", names);     // an upstream's allow list
        Assert.Contains("custom_routed", names);   // a route
        Assert.Contains("custom_slow", names);     // a timeouts key
        Assert.Contains("odd*key", names);         // a timeouts key is looked up verbatim, never as a glob
        Assert.Same(model["eth_call"], model["eth_call"]);
        Assert.Same(model.Fallback, model["never_heard_of"]);
        Assert.Same(model.Fallback, model["custom_unlisted"]);
        Assert.Equal([false, true], model.Fallback.Eligible.ToArray());

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(model.Fallback, model[$"client_made_up_{i}"]);
        }

        Assert.Equal(names, model.Names.ToHashSet());
    }

    [Fact]
    public async Task A_config_reload_swaps_the_compiled_table()
    {
        const string Yaml = """
            server: { listen: http://127.0.0.1:0 }
            chains:
              - name: main
                chain_id: 1
                upstreams:
                  - { name: a, url: http://127.0.0.1:9, methods: { deny: ["trace_*"] } }
                  - { name: b, url: http://127.0.0.1:10 }
            """;
        var loaded = ConfigLoader.LoadText(Yaml);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        using var host = RpcShieldHost.Build(loaded.Options!, null, new HostSettings { ListenOverride = "http://127.0.0.1:0" });
        var registry = host.Services.GetRequiredService<ChainRegistry>();
        var before = registry.Default;
        var compiledBefore = before.Methods["trace_block"];
        Assert.Equal([false, true], compiledBefore.Eligible.ToArray());
        Assert.Equal([false, true], before.Methods["trace_notKnown"].Eligible.ToArray());

        var next = ConfigLoader.LoadText(Yaml.Replace("deny: [\"trace_*\"]", "deny: [\"debug_*\"]", StringComparison.Ordinal)).Options!;
        host.Services.GetRequiredService<ConfigStore>().Apply(next);
        // The registry swaps its snapshot asynchronously (bounded wait).
        for (var i = 0; i < 500 && ReferenceEquals(registry.Default, before); i++)
        {
            await Task.Delay(10);
        }

        var after = registry.Default;
        Assert.NotSame(before, after);
        Assert.NotSame(before.Methods, after.Methods);
        Assert.Equal([true, true], after.Methods["trace_block"].Eligible.ToArray());
        Assert.Equal([false, true], after.Methods["debug_traceCall"].Eligible.ToArray());
        Assert.Equal([true, true], after.Methods["trace_notKnown"].Eligible.ToArray());
        // In-flight requests of the replaced snapshot keep reading its own (immutable) table.
        Assert.Same(compiledBefore, before.Methods["trace_block"]);
        Assert.Equal([false, true], before.Methods["trace_block"].Eligible.ToArray());
    }
}
