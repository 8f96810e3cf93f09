using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Upstreams.Budgets;

/// <summary>429 + Retry-After: the upstream is skipped for that long, counted as throttled (not error), then used again.</summary>
public sealed class ThrottleTests
{
    [Fact]
    public async Task A_throttled_upstream_is_skipped_for_retry_after_then_used_again()
    {
        await using var limitedNode = await AnvilNode.StartAsync();
        await using var spare = await AnvilNode.StartAsync();
        await using var limited = await FaultProxy.StartAsync(limitedNode.Url);
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("limited", limited.Url, "primary"), ("spare", spare.Url, "fallback")]));
        // Under a loaded CI the start-up probe through the fault proxy can miss its 1 s timeout: wait for both to be in.
        await FailoverTests.WaitForAsync(proxy, s => FailoverTests.Upstream(s, "limited").GetProperty("health").GetString() == "healthy"
            && FailoverTests.Upstream(s, "spare").GetProperty("health").GetString() == "healthy");

        Assert.Equal("limited", (await Rpc.BalanceAsync(proxy)).Upstream);
        limited.RetryAfterSeconds = 3;
        limited.Mode = FaultMode.Throttle;
        var first = await Rpc.BalanceAsync(proxy);
        Assert.False(first.IsError, first.Body.ToString());
        Assert.Equal("spare", first.Upstream);
        var throttledAt = DateTime.UtcNow;
        limited.Mode = FaultMode.Pass;
        var hits = limited.Hits;

        // Well inside Retry-After: not a single request (nor probe) reaches it.
        while (DateTime.UtcNow - throttledAt < TimeSpan.FromSeconds(2))
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
            Assert.Equal("spare", reply.Upstream);
            await Task.Delay(50);
        }

        Assert.Equal(hits, limited.Hits);
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.True(FailoverTests.Upstream(status, "limited").GetProperty("throttle").GetProperty("active").GetBoolean());
        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "limited"), ("outcome", "throttled")) >= 1);
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "limited"), ("outcome", "error")));

        await Rpc.WaitUntilAsync(async () => (await Rpc.BalanceAsync(proxy)).Upstream == "limited", "the throttled upstream to serve again");
        Assert.True(DateTime.UtcNow - throttledAt >= TimeSpan.FromSeconds(2.9), "used again before Retry-After passed");
    }

    [Fact]
    public async Task A_request_over_the_rate_budget_goes_to_the_next_upstream_instead_of_queueing()
    {
        await using var small = await AnvilNode.StartAsync();
        await using var big = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(
            ResilienceYaml.Chain([("small", small.Url, "primary"), ("big", big.Url, "fallback")], health: "{ interval: 2s, timeout: 1s }")
                .Replace("tier: primary }", "tier: primary, max_rps: 5 }", StringComparison.Ordinal),
            null);

        var served = new Dictionary<string, int>();
        for (var i = 0; i < 20; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
            served[reply.Upstream!] = served.GetValueOrDefault(reply.Upstream!) + 1;
        }

        Assert.True(served.GetValueOrDefault("big") > 0, "nothing overflowed to the next upstream");
        Assert.True(served.GetValueOrDefault("small") > 0, "the budgeted upstream served nothing");
    }
}
