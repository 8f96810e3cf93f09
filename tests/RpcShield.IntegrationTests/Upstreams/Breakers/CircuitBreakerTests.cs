using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Upstreams.Breakers;

/// <summary>A flapping upstream (every other request HTTP 500) trips its breaker and stops receiving traffic.</summary>
public sealed class CircuitBreakerTests
{
    [Fact]
    public async Task A_flapping_upstream_trips_its_breaker_and_stops_receiving_traffic()
    {
        await using var flapNode = await AnvilNode.StartAsync();
        await using var steady = await AnvilNode.StartAsync();
        await using var flap = await FaultProxy.StartAsync(flapNode.Url, FaultMode.Flap);
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("flap", flap.Url, "primary"), ("steady", steady.Url, "fallback")],
            "circuit_breaker: { failure_ratio: 0.3, min_requests: 6, window: 10s, break: 30s }"));

        // Every request still succeeds (the 500s fail over to the steady node) while the breaker learns.
        for (var i = 0; i < 30 && await CircuitAsync(proxy) != "open"; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
        }

        Assert.Equal("open", await CircuitAsync(proxy));
        Assert.Equal(2, await Rpc.MetricAsync(proxy, "rpcshield_circuit_state", ("upstream", "flap")));
        var hitsWhenOpened = flap.Hits;
        for (var i = 0; i < 20; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
            Assert.Equal("steady", reply.Upstream);
        }

        Assert.Equal(hitsWhenOpened, flap.Hits);
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal("steady", status.GetProperty("chains")[0].GetProperty("ranking")[0].GetString());
        Assert.Equal("http_500", FailoverTests.Upstream(status, "flap").GetProperty("circuit").GetProperty("last_fault").GetString());
    }

    [Fact]
    public async Task After_the_break_a_probe_closes_the_breaker_and_traffic_returns()
    {
        await using var flapNode = await AnvilNode.StartAsync();
        await using var steady = await AnvilNode.StartAsync();
        await using var flap = await FaultProxy.StartAsync(flapNode.Url, FaultMode.Flap);
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("flap", flap.Url, "primary"), ("steady", steady.Url, "fallback")],
            "circuit_breaker: { failure_ratio: 0.3, min_requests: 6, window: 10s, break: 1s }"));

        for (var i = 0; i < 30 && await CircuitAsync(proxy) != "open"; i++)
        {
            await Rpc.BalanceAsync(proxy);
        }

        Assert.Equal("open", await CircuitAsync(proxy));
        flap.Mode = FaultMode.Pass;
        await Rpc.WaitUntilAsync(async () => await CircuitAsync(proxy) == "closed", "the breaker to close");
        await Rpc.WaitUntilAsync(async () => (await Rpc.BalanceAsync(proxy)).Upstream == "flap", "traffic to return to the recovered upstream");
    }

    private static async Task<string?> CircuitAsync(ProxyUnderTest proxy)
    {
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        return FailoverTests.Upstream(status, "flap").GetProperty("circuit").GetProperty("state").GetString();
    }
}
