using System.Reflection;
using System.Runtime.CompilerServices;
using RpcShield.Configuration;

namespace RpcShield.Tests.Configuration;

/// <summary>
/// The proxy.yaml model is a set of init-only records: the binder sets each property once while it
/// binds (by reflection, `${VAR}` substituted), nothing can change a loaded snapshot afterwards, a
/// variant is built with `with`, and no record that holds a secret prints it.
/// </summary>
public sealed class OptionsRecordsTests
{
    /// <summary>Every type reachable from <see cref="ProxyOptions"/> through its properties (sections and list items).</summary>
    private static HashSet<Type> Model()
    {
        var found = new HashSet<Type>();
        var pending = new Stack<Type>([typeof(ProxyOptions)]);
        while (pending.TryPop(out var type))
        {
            if (!found.Add(type))
            {
                continue;
            }

            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var inner = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                inner = inner.IsGenericType ? inner.GetGenericArguments()[^1] : inner;
                if (inner.Namespace == typeof(ProxyOptions).Namespace && inner.IsClass && inner != typeof(string))
                {
                    pending.Push(inner);
                }
            }
        }

        return found;
    }

    [Fact]
    public void Every_options_type_is_a_public_sealed_record_with_init_only_properties()
    {
        var model = Model();
        Assert.Contains(typeof(UpstreamOptions), model);
        Assert.Contains(typeof(ChaosRuleOptions), model);
        Assert.Contains(typeof(SandboxBuilderOptions), model);
        Assert.True(model.Count >= 30, $"only {model.Count} options types found");

        foreach (var type in model)
        {
            Assert.True(type.IsPublic && type.IsSealed, $"{type.Name} is public sealed");
            Assert.True(type.GetMethod("<Clone>$") is not null, $"{type.Name} is a record");
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (property.SetMethod is { } setter)
                {
                    Assert.True(
                        setter.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)),
                        $"{type.Name}.{property.Name} has a mutable setter");
                }
            }
        }
    }

    [Fact]
    public void The_binder_sets_init_only_properties_and_substitutes_variables()
    {
        const string Yaml = """
            server: { listen: "http://127.0.0.1:8600", max_batch_items: 7 }
            chains:
              - name: main
                chain_id: 5
                upstreams:
                  - { name: a, url: "http://127.0.0.1:9/${KEY}", tier: fallback, methods: { allow: ["eth_*"], deny: ["eth_sign"] } }
                routing:
                  timeouts: { default: 4s, methods: { eth_getLogs: 20s } }
                  broadcast: ["eth_sendRawTransaction", "eth_sendPrivate*"]
                degradation: { shed_in_degraded: [] }
                cache: { enabled: false, methods: { eth_call: false } }
            """;
        var loaded = ConfigLoader.LoadText(Yaml, name => name == "KEY" ? "k3y" : null);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        var options = loaded.Options!;
        var chain = options.Chains[0];

        Assert.Equal("http://127.0.0.1:8600", options.Server.Listen);
        Assert.Equal(7, options.Server.MaxBatchItems);
        Assert.Equal(10_000, options.Server.MaxConnections);                    // default kept
        Assert.Equal("http://127.0.0.1:9/k3y", chain.Upstreams[0].Url);
        Assert.Equal("fallback", chain.Upstreams[0].Tier);
        Assert.Equal(["eth_*"], chain.Upstreams[0].Methods.Allow);
        Assert.Equal(["eth_sign"], chain.Upstreams[0].Methods.Deny);
        Assert.Equal(TimeSpan.FromSeconds(4), chain.Routing.Timeouts.Default);
        Assert.Equal(TimeSpan.FromSeconds(20), chain.Routing.Timeouts.Methods["eth_getLogs"]);
        Assert.Equal(["eth_sendRawTransaction", "eth_sendPrivate*"], chain.Routing.Broadcast);
        Assert.Empty(chain.Degradation.ShedInDegraded);                        // an explicit [] replaces the default
        Assert.False(chain.Cache!.Enabled);
        Assert.False(chain.Cache.Methods["eth_call"]);
        Assert.Equal(["k3y"], options.EnvironmentValues);                      // set with `with` after binding

        // A variant is a new snapshot; the loaded one is unchanged.
        var variant = options with { Chains = [chain with { Routing = chain.Routing with { Retries = 9 } }] };
        Assert.Equal(9, variant.Chains[0].Routing.Retries);
        Assert.Equal(2, options.Chains[0].Routing.Retries);
        Assert.Same(chain.Upstreams, variant.Chains[0].Upstreams);
    }

    [Fact]
    public void No_options_record_prints_a_secret()
    {
        var secrets = new Dictionary<string, string>
        {
            ["TOKEN"] = "tok-secret-0123456789",
            ["ADMIN"] = "adm-secret-0123456789",
            ["KEY"] = "0x" + new string('7', 64),
            ["PROVIDER"] = "provider-secret-key",
            ["BUILDER"] = "builder-secret-key",
            ["REDIS"] = "redis-secret-pw",
            ["PG"] = "pg-secret-pw",
            ["BEACON"] = "beacon-secret-auth",
            ["OTLP"] = "otlp-secret-token",
        };
        const string Yaml = """
            server: { listen: "http://127.0.0.1:8600", auth_token: "${TOKEN}" }
            admin: { token: "${ADMIN}" }
            signing: { flashbots_key: "${KEY}" }
            redis: { url: "redis://:${REDIS}@127.0.0.1:6379" }
            journal: { postgres: "Host=127.0.0.1;Password=${PG}" }
            telemetry: { otlp_endpoint: "http://127.0.0.1:4318/${OTLP}" }
            passthrough:
              - { path: "/beacon/{**rest}", destinations: ["http://127.0.0.1:5052"], headers: { Authorization: "${BEACON}" } }
            chains:
              - name: main
                chain_id: 1
                upstreams:
                  - { name: a, url: "https://node.example/v2/${PROVIDER}", ws_url: "wss://node.example/ws/${PROVIDER}" }
                builders:
                  - { name: b, url: "https://builder.example/${BUILDER}" }
            """;
        var options = YamlBinder.Bind<ProxyOptions>(Yaml, name => secrets.GetValueOrDefault(name), out var errors);
        Assert.Empty(errors);
        Assert.Equal(secrets["BEACON"], options!.Passthrough[0].Headers["Authorization"]);

        object[] printed =
        [
            options, options.Server, options.Admin, options.Signing, options.Redis!, options.Journal, options.Telemetry,
            options.Passthrough[0], options.Chains[0], options.Chains[0].Upstreams[0], options.Chains[0].Builders[0],
        ];
        foreach (var record in printed)
        {
            var text = record.ToString()!;
            foreach (var secret in secrets.Values)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
    }
}
