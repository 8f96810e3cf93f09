using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;

namespace RpcShield.Tests.JsonRpc;

/// <summary>
/// Which handler serves a method comes from <see cref="RpcHandlerPrecedence"/>, not from the order
/// the features registered their handlers in; the compiled per-chain tables give the same answers
/// as matching the globs on each request.
/// </summary>
public sealed class HandlerPrecedenceTests
{
    private const string OneChain = """
        server: { listen: http://127.0.0.1:0 }
        chains:
          - name: main
            chain_id: 1
            upstreams:
              - { name: a, url: http://127.0.0.1:9 }
        """;

    // Overlapping rules on purpose: verify's globs also match the nonce read, a send and a builder read.
    private const string Overlapping = OneChain + "\n" + """
              - { name: b, url: http://127.0.0.1:10, methods: { allow: ["eth_*", "custom_literal"] } }
            builders:
              - { name: relay, profile: custom, url: http://127.0.0.1:11, methods: ["eth_sendBundle"], reads: ["eth_callBundle", "flashbots_*"] }
            routing:
              broadcast: ["eth_sendRawTransaction", "eth_sendPrivate*"]
              fanout: ["eth_sendBundle", "eth_cancelBundle"]
              timeouts: { default: 7s, methods: { eth_getLogs: 20s } }
              consistency: { nonce_quorum: 2, verify: { methods: ["eth_*", "flashbots_getBundleStatsV2"] } }
            degradation: { shed_in_degraded: ["debug_*", "eth_getLogs", "custom_*"] }
        """;

    private const string Plain = OneChain + "\n" + """
            routing:
              consistency: { nonce_quorum: 1 }
        """;

    private static readonly string[] Methods =
    [
        "eth_call", "eth_getBalance", "eth_getTransactionCount", "eth_sendRawTransaction", "eth_sendPrivateTransaction",
        "eth_sendBundle", "eth_cancelBundle", "eth_callBundle", "flashbots_getBundleStatsV2", "flashbots_getUserStats",
        "eth_subscribe", "eth_unsubscribe", "rpcshield_reportOutcome", "rpcshield_getBundleStatus", "eth_getLogs",
        "debug_traceCall", "trace_block", "custom_literal", "custom_unlisted", "never_heard_of", "eth_sendRawTransactionX",
    ];

    [Fact]
    public void Every_registered_handler_is_in_the_precedence_table_exactly_once()
    {
        using var host = Host(Overlapping);
        var registered = host.Services.GetServices<IRpcHandler>().Select(h => h.GetType()).ToArray();

        Assert.NotEmpty(registered);
        Assert.Equal(RpcHandlerPrecedence.Order.Length, RpcHandlerPrecedence.Order.Distinct().Count());
        Assert.Equal(registered.Order(TypeNameOrder.Instance), RpcHandlerPrecedence.Order.Order(TypeNameOrder.Instance));
    }

    [Theory]
    [InlineData(Overlapping)]
    [InlineData(Plain)]
    public void Registration_order_does_not_change_which_handler_serves_a_method(string yaml)
    {
        using var host = Host(yaml);
        var chain = host.Services.GetRequiredService<ChainRegistry>().Default;
        var handlers = host.Services.GetServices<IRpcHandler>().ToArray();
        var expected = Methods.Select(m => Dispatcher(handlers).Table(chain).For(m)?.GetType()).ToArray();

        // Reversed and shuffled registrations (seeded: a failure reproduces).
        var random = new Random(14);
        foreach (var order in (IRpcHandler[][])[[.. handlers.Reverse()], .. Enumerable.Range(0, 5).Select(_ => handlers.OrderBy(_ => random.Next()).ToArray())])
        {
            var dispatcher = Dispatcher(order);
            Assert.Equal(expected, Methods.Select(m => dispatcher.Table(chain).For(m)?.GetType()).ToArray());
        }

        if (yaml == Overlapping)
        {
            // The precedence the table states, on the overlapping rules.
            Assert.Equal(typeof(RpcShield.Upstreams.Heads.NonceQuorumHandler), expected[Array.IndexOf(Methods, "eth_getTransactionCount")]);
            Assert.Equal(typeof(RpcShield.Features.Broadcast.BroadcastHandler), expected[Array.IndexOf(Methods, "eth_sendRawTransaction")]);
            Assert.Equal(typeof(RpcShield.Upstreams.Heads.VerifiedReadHandler), expected[Array.IndexOf(Methods, "eth_sendBundle")]);
            Assert.Equal(typeof(RpcShield.Features.Fanout.RelayReadHandler), expected[Array.IndexOf(Methods, "flashbots_getUserStats")]);
            Assert.Equal(typeof(RpcShield.Features.Subscriptions.SubscriptionRpcHandler), expected[Array.IndexOf(Methods, "eth_subscribe")]);
        }
        else
        {
            Assert.Null(expected[Array.IndexOf(Methods, "eth_getTransactionCount")]);
        }
    }

    [Theory]
    [InlineData(Overlapping)]
    [InlineData(Plain)]
    public void The_compiled_tables_answer_as_the_globs_do(string yaml)
    {
        using var host = Host(yaml);
        var chain = host.Services.GetRequiredService<ChainRegistry>().Default;
        var handlers = RpcHandlerPrecedence.Sort(host.Services.GetServices<IRpcHandler>());
        var table = Dispatcher(handlers).Table(chain);
        var options = chain.Options;
        var routing = options.Routing;

        foreach (var method in Methods.Concat(KnownMethods.All))
        {
            var traits = chain.Methods[method];
            Assert.Equal(HedgePolicy.IsHedgeable(method, routing), traits.Hedgeable);
            Assert.Equal(MethodGlob.MatchesAny(routing.Broadcast, method) || MethodGlob.MatchesAny(routing.Fanout, method), traits.Send);
            Assert.Equal(MethodGlob.MatchesAny(options.Degradation.ShedInDegraded, method), traits.ShedInDegraded);
            Assert.Equal(routing.Timeouts.Methods.TryGetValue(method, out var perMethod) ? perMethod : routing.Timeouts.Default, traits.Deadline);
            Assert.Same(handlers.FirstOrDefault(h => h.Handles(chain, method)), table.For(method));
        }
    }

    [Fact]
    public void Unknown_methods_are_answered_but_never_added_to_a_table()
    {
        using var host = Host(Overlapping);
        var chain = host.Services.GetRequiredService<ChainRegistry>().Default;
        var compiled = chain.Methods.Names.ToHashSet();

        Assert.Contains("custom_literal", compiled);
        Assert.Contains("eth_getLogs", compiled);
        Assert.DoesNotContain("custom_*", compiled);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(chain.Methods[$"custom_{i}"].ShedInDegraded);
        }

        Assert.Equal(compiled, chain.Methods.Names.ToHashSet());
    }

    [Fact]
    public async Task A_config_reload_compiles_a_new_handler_table()
    {
        using var host = Host(Overlapping);
        var registry = host.Services.GetRequiredService<ChainRegistry>();
        var dispatcher = host.Services.GetRequiredService<RpcDispatcher>();
        var before = registry.Default;
        Assert.IsType<RpcShield.Upstreams.Heads.NonceQuorumHandler>(dispatcher.Table(before).For("eth_getTransactionCount"));

        var next = ConfigLoader.LoadText(Overlapping.Replace("nonce_quorum: 2", "nonce_quorum: 1", StringComparison.Ordinal)).Options!;
        host.Services.GetRequiredService<ConfigStore>().Apply(next);
        // The registry swaps its snapshot asynchronously (bounded wait).
        for (var i = 0; i < 500 && ReferenceEquals(registry.Default, before); i++)
        {
            await Task.Delay(10);
        }

        Assert.NotSame(before, registry.Default);

        Assert.IsType<RpcShield.Upstreams.Heads.VerifiedReadHandler>(dispatcher.Table(registry.Default).For("eth_getTransactionCount"));
    }

    private static RpcDispatcher Dispatcher(IRpcHandler[] handlers)
    {
        var time = new FakeTimeProvider();
        return new RpcDispatcher([], handlers, [], new ReadForwarder(new RpcShield.Upstreams.UpstreamSender(time, [], []), time, new NoHedging()), new RpcShieldMetrics(new Prometheus.CollectorRegistry()), time);
    }

    private static Microsoft.AspNetCore.Builder.WebApplication Host(string yaml)
    {
        var loaded = ConfigLoader.LoadText(yaml);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        return RpcShieldHost.Build(loaded.Options!, null, new HostSettings { ListenOverride = "http://127.0.0.1:0" });
    }

    private sealed class TypeNameOrder : IComparer<Type>
    {
        public static readonly TypeNameOrder Instance = new();

        public int Compare(Type? x, Type? y) => string.CompareOrdinal(x?.FullName, y?.FullName);
    }
}
