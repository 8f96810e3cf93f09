using RpcShield.Configuration;
using RpcShield.Hosting.Passthrough;

namespace RpcShield.Tests.Hosting.Passthrough;

public sealed class PassthroughConfigTests
{
    private static ConfigLoadResult Load(string passthrough) => ConfigLoader.LoadText($$"""
        chains:
          - name: mainnet
            chain_id: 1
            upstreams:
              - { name: a, url: "http://127.0.0.1:8545" }
        passthrough:
        {{passthrough}}
        """, _ => null);

    [Theory]
    [InlineData("/{**rest}", "literal segment")]
    [InlineData("/{chain}/x", "literal segment")]
    [InlineData("/mainnet/{**rest}", "chain name")]
    [InlineData("/status/{**rest}", "RpcShield endpoint")]
    [InlineData("/metrics", "RpcShield endpoint")]
    [InlineData("/x/{a", "not a valid route pattern")]
    public void Paths_that_could_shadow_json_rpc_or_rpcshield_endpoints_are_rejected(string path, string fragment)
    {
        var result = Load($"  - {{ path: \"{path}\", destinations: [\"http://127.0.0.1:5052\"] }}");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].path" && e.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_passthrough_error_is_reported()
    {
        var result = Load("""  - { path: "beacon", destinations: ["ftp://x"], health_path: "health", health_interval: 0, load_balancing: sticky }""");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].path");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].destinations[0]");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].health_path");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].health_interval");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].load_balancing");
    }

    [Fact]
    public void A_valid_route_becomes_a_yarp_route_and_cluster_below_rpcshield_endpoints()
    {
        var result = Load("""  - { path: "/beacon/{**rest}", destinations: ["http://127.0.0.1:5052", "http://127.0.0.1:5053"], health_path: /eth/v1/node/health, health_interval: 1s, load_balancing: least_requests }""");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var snapshot = PassthroughConfigProvider.Build(result.Options!.Passthrough);
        var route = Assert.Single(snapshot.Routes);
        Assert.Equal("/beacon/{**rest}", route.Match.Path);
        Assert.Equal(PassthroughConfigProvider.RouteOrder, route.Order);
        Assert.Equal("/beacon", Assert.Single(route.Transforms!)["PathRemovePrefix"]);
        var cluster = Assert.Single(snapshot.Clusters);
        Assert.Equal(2, cluster.Destinations!.Count);
        Assert.Equal("LeastRequests", cluster.LoadBalancingPolicy);
        Assert.True(cluster.HealthCheck!.Active!.Enabled);
        Assert.Equal("/eth/v1/node/health", cluster.HealthCheck.Active.Path);
        Assert.Equal(TimeSpan.FromSeconds(1), cluster.HealthCheck.Active.Interval);
    }

    [Theory]
    [InlineData("/beacon/{**rest}", "/beacon")]
    [InlineData("/relay/data/{**rest}", "/relay/data")]
    [InlineData("/exact/path", null)]
    public void The_literal_prefix_is_removed_when_forwarding(string path, string? prefix) =>
        Assert.Equal(prefix, PassthroughConfigProvider.PrefixOf(path));
}
