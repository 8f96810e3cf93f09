using RpcShield.Hosting.Cli;
using RpcShield.Configuration;

namespace RpcShield.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    internal const string Minimal = """
        chains:
          - name: mainnet
            chain_id: 1
            upstreams:
              - { name: a, url: "http://127.0.0.1:8545" }
        """;

    private static ConfigLoadResult Load(string yaml, Dictionary<string, string>? env = null) =>
        ConfigLoader.LoadText(yaml, name => env is not null && env.TryGetValue(name, out var v) ? v : null);

    private static void AssertError(ConfigLoadResult result, string path, string fragment) =>
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal));

    [Fact]
    public void A_minimal_file_binds_with_defaults()
    {
        var result = Load(Minimal);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var options = result.Options!;
        Assert.Equal("http://127.0.0.1:8545", options.Server.Listen);
        Assert.Equal(10 * 1024 * 1024, options.Server.MaxBodyBytes);
        var chain = Assert.Single(options.Chains);
        Assert.Equal(1, chain.ChainId);
        Assert.Equal("primary", chain.Upstreams[0].Tier);
        Assert.Equal(TimeSpan.FromSeconds(2), chain.Routing.Health.Interval);
    }

    [Fact]
    public void The_shipped_proxy_yaml_is_valid()
    {
        var path = Path.Combine(SharedPaths.RepositoryRoot, "proxy.yaml");
        var result = ConfigLoader.LoadFile(path, name => "0x" + new string('1', 64));
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }

    [Fact]
    public void Durations_globs_routes_and_nested_sections_bind()
    {
        var result = Load("""
            server: { listen: "http://127.0.0.1:9000", max_body_bytes: 2_000_000, max_batch_items: 50 }
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: local, url: "http://127.0.0.1:8545", tier: primary, methods: { deny: ["trace_*"] } }
                  - { name: archive, url: "https://archive.example/rpc", tier: fallback, methods: { allow: ["trace_*", "debug_*"] } }
                routes:
                  - { methods: ["eth_call"], upstreams: [local] }
                routing:
                  health: { interval: 500ms, timeout: 250ms, fail_after: 4, recover_after: 3, max_block_lag: 5 }
                  timeouts: { default: 1m, per_attempt: 1.5s, methods: { eth_getLogs: 30s } }
                  retries: 3
            passthrough:
              - { path: "/beacon/{**rest}", destinations: ["http://127.0.0.1:5052"], health_path: /eth/v1/node/health }
            """);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var chain = result.Options!.Chains[0];
        Assert.Equal(2_000_000, result.Options.Server.MaxBodyBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(500), chain.Routing.Health.Interval);
        Assert.Equal(TimeSpan.FromMinutes(1), chain.Routing.Timeouts.Default);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), chain.Routing.Timeouts.PerAttempt);
        Assert.Equal(TimeSpan.FromSeconds(30), chain.Routing.Timeouts.Methods["eth_getLogs"]);
        Assert.Equal(["trace_*"], chain.Upstreams[0].Methods.Deny);
        Assert.Equal(["local"], chain.Routes[0].Upstreams);
        Assert.Equal("/eth/v1/node/health", result.Options.Passthrough[0].HealthPath);
    }

    [Fact]
    public void Unknown_keys_are_errors_with_their_path()
    {
        var result = Load("""
            servr: { listen: "http://127.0.0.1:8545" }
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: a, url: "http://127.0.0.1:8545", teir: primary }
                routing:
                  health: { fail_afer: 2 }
                  maxBlockLag: 2
            """);
        Assert.False(result.IsValid);
        AssertError(result, "servr", "unknown key");
        AssertError(result, "chains[0].upstreams[0].teir", "unknown key");
        AssertError(result, "chains[0].routing.health.fail_afer", "unknown key");
        AssertError(result, "chains[0].routing.maxBlockLag", "unknown key");
    }

    [Fact]
    public void Every_error_is_reported_not_just_the_first()
    {
        var result = Load("""
            server: { listen: "ftp://x", max_body_bytes: 10 }
            chains:
              - name: Main Net
                chain_id: 0
                upstreams:
                  - { name: a, url: "not a url", tier: best, transport: curl, max_batch: -1 }
                  - { name: a, url: "http://127.0.0.1:1", ws_url: "http://nope" }
                routes:
                  - { methods: [], upstreams: [ghost] }
                routing:
                  health: { interval: 2 parsecs, fail_after: 0 }
                  timeouts: { default: -1s }
                  retries: 99
            """);
        Assert.False(result.IsValid);
        AssertError(result, "server.listen", "http://");
        AssertError(result, "server.max_body_bytes", "at least 1024");
        AssertError(result, "chains[0].name", "lowercase");
        AssertError(result, "chains[0].chain_id", "positive");
        AssertError(result, "chains[0].upstreams[0].url", "absolute http(s) URL");
        AssertError(result, "chains[0].upstreams[0].tier", "primary or fallback");
        AssertError(result, "chains[0].upstreams[0].transport", "auto or httpclient");
        AssertError(result, "chains[0].upstreams[0].max_batch", "0 (never batch) or positive");
        AssertError(result, "chains[0].upstreams", "duplicate upstream name 'a'");
        AssertError(result, "chains[0].upstreams[1].ws_url", "ws(s)");
        AssertError(result, "chains[0].routes[0].methods", "at least one");
        AssertError(result, "chains[0].routes[0].upstreams[0]", "ghost");
        AssertError(result, "chains[0].routing.health.interval", "not a duration");
        AssertError(result, "chains[0].routing.health.fail_after", "at least 1");
        AssertError(result, "chains[0].routing.timeouts.default", "not a duration");
        AssertError(result, "chains[0].routing.retries", "between 0 and 10");
        Assert.True(result.Errors.Count >= 14);
    }

    [Fact]
    public void Duplicate_chain_names_are_errors()
    {
        var result = Load(Minimal + "\n" + """
              - name: mainnet
                chain_id: 2
                upstreams:
                  - { name: b, url: "http://127.0.0.1:8546" }
            """);
        AssertError(result, "chains", "duplicate chain name 'mainnet'");
    }

    [Fact]
    public void Environment_variables_are_substituted_and_a_missing_one_is_an_error()
    {
        const string yaml = """
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: a, url: "https://provider.example/v2/${PROVIDER_KEY}" }
                  - { name: b, url: "${NODE_URL}" }
            """;
        var ok = Load(yaml, new() { ["PROVIDER_KEY"] = "k3y", ["NODE_URL"] = "http://127.0.0.1:9" });
        Assert.True(ok.IsValid, string.Join("; ", ok.Errors));
        Assert.Equal("https://provider.example/v2/k3y", ok.Options!.Chains[0].Upstreams[0].Url);

        var missing = Load(yaml, new() { ["NODE_URL"] = "http://127.0.0.1:9" });
        Assert.False(missing.IsValid);
        AssertError(missing, "chains[0].upstreams[0].url", "environment variable PROVIDER_KEY is not set");
    }

    [Fact]
    public void Unquoted_variables_work_inside_flow_mappings_as_in_the_design_example()
    {
        const string yaml = """
            server:  { listen: http://0.0.0.0:8545, auth_token: ${RPCSHIELD_TOKEN} }
            admin:   { token: ${RPCSHIELD_ADMIN_TOKEN} }
            signing: { flashbots_key: ${FLASHBOTS_SIGNING_KEY} }
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: a, url: http://127.0.0.1:8545/${PROVIDER_KEY} }
            """;
        var key = "0x" + new string('1', 64);
        var ok = Load(yaml, new() { ["RPCSHIELD_TOKEN"] = "t0k-0123456789abcdef", ["RPCSHIELD_ADMIN_TOKEN"] = "adm-0123456789abcdef", ["FLASHBOTS_SIGNING_KEY"] = key, ["PROVIDER_KEY"] = "p" });

        Assert.True(ok.IsValid, string.Join("; ", ok.Errors));
        Assert.Equal("t0k-0123456789abcdef", ok.Options!.Server.AuthToken);
        Assert.Equal("adm-0123456789abcdef", ok.Options.Admin.Token);
        Assert.Equal(key, ok.Options.Signing.FlashbotsKey);
        Assert.Equal("http://127.0.0.1:8545/p", ok.Options.Chains[0].Upstreams[0].Url);
        AssertError(Load(yaml, new() { ["RPCSHIELD_TOKEN"] = "t0k-0123456789abcdef", ["RPCSHIELD_ADMIN_TOKEN"] = "adm-0123456789abcdef", ["PROVIDER_KEY"] = "p" }),
            "signing.flashbots_key", "environment variable FLASHBOTS_SIGNING_KEY is not set");
    }

    [Theory]
    [InlineData("http://0.0.0.0:8545")]
    [InlineData("http://192.168.1.10:8545")]
    public void A_non_loopback_listen_without_auth_token_is_refused(string listen)
    {
        var result = Load($"server: {{ listen: \"{listen}\" }}\n" + Minimal);
        AssertError(result, "server.auth_token", "required");

        var withToken = Load($"server: {{ listen: \"{listen}\", auth_token: s3cret-0123456789abcdef }}\n" + Minimal);
        Assert.True(withToken.IsValid, string.Join("; ", withToken.Errors));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8545")]
    [InlineData("http://localhost:8545")]
    [InlineData("http://[::1]:8545")]
    public void Loopback_needs_no_token(string listen) =>
        Assert.True(Load($"server: {{ listen: \"{listen}\" }}\n" + Minimal).IsValid);

    [Fact]
    public void Error_messages_never_echo_url_values()
    {
        var result = Load("""
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: a, url: "htp:/secret-key-123" }
            """);
        Assert.DoesNotContain(result.Errors, e => e.Message.Contains("secret-key-123", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_config_prints_one_line_per_error_with_its_path_and_exits_1()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-check-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: a, url: "nope", colour: red }
            """);
        try
        {
            using var output = new StringWriter();
            var code = RunCommands.CheckConfig(new CommandLine(["check-config", "--config", path]), output);
            Assert.Equal(1, code);
            var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Contains(lines, l => l.EndsWith("chains[0].upstreams[0].colour: unknown key", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("chains[0].upstreams[0].url: must be an absolute http(s) URL", StringComparison.Ordinal));
            Assert.Equal("2 error(s)", lines[^1]);

            File.WriteAllText(path, Minimal);
            using var okOutput = new StringWriter();
            Assert.Equal(0, RunCommands.CheckConfig(new CommandLine(["check-config", "--config", path]), okOutput));
            Assert.Contains("OK", okOutput.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("2s", 2000)]
    [InlineData("1.5s", 1500)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0", 0)]
    public void Durations_parse(string text, double ms)
    {
        Assert.True(DurationParser.TryParse(text, out var value));
        Assert.Equal(ms, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("s")]
    [InlineData("-1s")]
    [InlineData("2 parsecs")]
    [InlineData("")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(DurationParser.TryParse(text, out _));
}
