using RpcShield.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace RpcShield.IntegrationTests.Routing.Hedging;

/// <summary>A 300 ms upstream ranked first and a fast one behind it: hedged reads are won by the fast one.</summary>
public sealed class HedgingTests(ITestOutputHelper output)
{
    private const int Calls = 40;
    private const int UnhedgedCalls = 10;

    [Fact]
    public async Task Hedged_reads_are_served_by_the_fast_upstream_while_unhedged_ones_wait_for_the_slow_one()
    {
        await using var slowNode = await AnvilNode.StartAsync();
        await using var fastNode = await AnvilNode.StartAsync();
        await using var slow = await FaultProxy.StartAsync(slowNode.Url, latency: TimeSpan.FromMilliseconds(300));
        (string, string, string)[] upstreams = [("slow", slow.Url, "primary"), ("fast", fastNode.Url, "fallback")];

        var hedged = await RunAsync(upstreams, Calls, "hedge: { enabled: true, quantile: 0.9, min: 20ms, max: 150ms, max_extra: 1, cold_start: 50ms }");
        var unhedged = await RunAsync(upstreams, UnhedgedCalls, "hedge: { enabled: false }");

        output.WriteLine($"hedged: fast won {hedged.FastWins}/{Calls}, p50 {hedged.P50:0.0} ms, hedges won {hedged.Won}, lost {hedged.Lost}, sent {hedged.Sent}");
        output.WriteLine($"unhedged: fast served {unhedged.FastWins}/{UnhedgedCalls}, p50 {unhedged.P50:0.0} ms");
        Assert.True(hedged.FastWins >= Calls * 0.9, $"fast served only {hedged.FastWins}/{Calls} hedged calls");
        Assert.Equal(0, unhedged.FastWins);
        Assert.True(hedged.Won >= Calls * 0.9, $"only {hedged.Won} hedges won");
        Assert.True(hedged.Sent >= hedged.Won);
        Assert.Equal(0, unhedged.Sent);
    }

    [Fact]
    public async Task Sends_are_never_hedged()
    {
        await using var slowNode = await AnvilNode.StartAsync();
        await using var fastNode = await AnvilNode.StartAsync();
        await using var slow = await FaultProxy.StartAsync(slowNode.Url, latency: TimeSpan.FromMilliseconds(300));
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("slow", slow.Url, "primary"), ("fast", fastNode.Url, "fallback")],
            "hedge: { enabled: true, quantile: 0.9, min: 20ms, max: 100ms, max_extra: 1, cold_start: 20ms }"));
        await proxy.WaitRoutableAsync(2);

        var reply = await Rpc.CallAsync(proxy, "eth_newBlockFilter");
        Assert.False(reply.IsError, reply.Body.ToString());
        Assert.Equal("slow", reply.Upstream);
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_hedges_total", ("result", "sent")));
    }

    [Fact]
    public async Task A_slow_read_starts_at_most_max_extra_hedges()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var a = await FaultProxy.StartAsync(node.Url, latency: TimeSpan.FromMilliseconds(300));
        await using var b = await FaultProxy.StartAsync(node.Url, latency: TimeSpan.FromMilliseconds(300));
        await using var c = await FaultProxy.StartAsync(node.Url, latency: TimeSpan.FromMilliseconds(300));
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("a", a.Url, "primary"), ("b", b.Url, "primary"), ("c", c.Url, "primary")],
            "hedge: { enabled: true, quantile: 0.9, min: 20ms, max: 20ms, max_extra: 1, cold_start: 20ms }"));
        await proxy.WaitRoutableAsync(3);

        for (var i = 0; i < 3; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
        }

        // Each read: the first attempt plus exactly one hedge, never a third parallel attempt.
        Assert.Equal(6, a.ClientHits + b.ClientHits + c.ClientHits);
        Assert.Equal(3, await Rpc.MetricAsync(proxy, "rpcshield_hedges_total", ("result", "sent")));
    }

    private sealed record Run(int FastWins, double P50, double Won, double Lost, double Sent);

    private static async Task<Run> RunAsync((string, string, string)[] upstreams, int calls, string hedge)
    {
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(upstreams, hedge));
        await proxy.WaitRoutableAsync(upstreams.Length);
        var latencies = new List<double>();
        var fast = 0;
        for (var i = 0; i < calls; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
            latencies.Add(reply.Milliseconds);
            fast += reply.Upstream == "fast" ? 1 : 0;
        }

        latencies.Sort();
        return new Run(
            fast,
            latencies[latencies.Count / 2],
            await Rpc.MetricAsync(proxy, "rpcshield_hedges_total", ("result", "won")),
            await Rpc.MetricAsync(proxy, "rpcshield_hedges_total", ("result", "lost")),
            await Rpc.MetricAsync(proxy, "rpcshield_hedges_total", ("result", "sent")));
    }
}
