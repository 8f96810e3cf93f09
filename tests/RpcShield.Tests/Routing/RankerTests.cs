using RpcShield.Upstreams.Transport;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using RpcShield.Configuration;
using RpcShield.Upstreams.Health;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Routing;

public sealed class RankerTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private readonly RpcShieldMetrics _metrics = new(Metrics.NewCustomRegistry());
    private readonly List<Upstream> _created = [];

    private Upstream Make(string name, string tier = "primary", long head = 100, double latencyMs = 10)
    {
        var options = new UpstreamOptions { Name = name, Url = $"http://127.0.0.1:1/{name}", Tier = tier };
        var upstream = new Upstream("test", options, new RoutingOptions(), UpstreamTransports.Create(options, _time), _time, _metrics);
        upstream.Health.ProbeSucceeded(head, chainIdVerified: true);
        upstream.Latency.Seed(latencyMs);
        _created.Add(upstream);
        return upstream;
    }

    private static string[] Names(Upstream[] ranking) => ranking.Select(u => u.Name).ToArray();

    [Fact]
    public void Lower_latency_ranks_first_and_the_score_is_100_over_100_plus_cost()
    {
        var slow = Make("slow", latencyMs: 80);
        var fast = Make("fast", latencyMs: 5);
        var ranking = Ranker.Rank([slow, fast], bestHead: 100, minSamples: 10);
        Assert.Equal(["fast", "slow"], Names(ranking));
        Assert.Equal(100 / (100 + 5.0), fast.Score, 6);
        Assert.Equal(100 / (100 + 80.0), slow.Score, 6);
    }

    [Fact]
    public void Primary_tier_ranks_before_a_faster_fallback()
    {
        var fallback = Make("fallback", tier: "fallback", latencyMs: 1);
        var primary = Make("primary", latencyMs: 200);
        Assert.Equal(["primary", "fallback"], Names(Ranker.Rank([fallback, primary], 100, 10)));
    }

    [Fact]
    public void Health_class_orders_healthy_then_lagging_then_unhealthy_and_never_probing_or_wrong_chain()
    {
        var unhealthy = Make("unhealthy", latencyMs: 1);
        unhealthy.Health.Failed("connection_refused", hard: true);
        var lagging = Make("lagging", latencyMs: 1, head: 90);
        lagging.Health.ApplyLag(100);
        var healthy = Make("healthy", tier: "fallback", latencyMs: 300);
        var wrong = Make("wrong", latencyMs: 1);
        wrong.Health.ChainIdMismatch(5, 31337);
        var probingOptions = new UpstreamOptions { Name = "probing", Url = "http://127.0.0.1:1/" };
        var probing = new Upstream("test", probingOptions, new RoutingOptions(), UpstreamTransports.Create(probingOptions, _time), _time, _metrics);
        _created.Add(probing);

        var ranking = Ranker.Rank([unhealthy, lagging, healthy, wrong, probing], 100, 10);
        Assert.Equal(["healthy", "lagging", "unhealthy"], Names(ranking));
        Assert.Equal(0, wrong.Score);
        Assert.Equal(0, probing.Score);
    }

    [Fact]
    public void Error_rate_multiplies_cost_only_above_the_minimum_sample_count()
    {
        var flaky = Make("flaky", latencyMs: 10);
        var steady = Make("steady", latencyMs: 20);
        for (var i = 0; i < 4; i++)
        {
            flaky.Errors.Record(success: false);
        }

        // 4 samples < min 10: not judged yet.
        Assert.Equal(["flaky", "steady"], Names(Ranker.Rank([flaky, steady], 100, 10)));
        for (var i = 0; i < 6; i++)
        {
            flaky.Errors.Record(success: true);
        }

        // 40 % errors over 10 samples: cost = 10 × (1 + 4 × 0.4) = 26 > 20.
        Assert.Equal(26, Ranker.Cost(flaky, 100, 10), 6);
        Assert.Equal(["steady", "flaky"], Names(Ranker.Rank([flaky, steady], 100, 10)));
    }

    [Fact]
    public void Each_block_of_lag_costs_50ms()
    {
        var behind = Make("behind", latencyMs: 10, head: 99);
        var current = Make("current", latencyMs: 55, head: 100);
        Assert.Equal(60, Ranker.Cost(behind, 100, 10), 6);
        Assert.Equal(["current", "behind"], Names(Ranker.Rank([behind, current], 100, 10)));
        Assert.Equal(10, Ranker.Cost(behind, -1, 10), 6);
    }

    [Fact]
    public void In_flight_requests_multiply_the_latency()
    {
        var busy = Make("busy", latencyMs: 10);
        var idle = Make("idle", latencyMs: 25);
        busy.Enter();
        busy.Enter();
        Assert.Equal(30, Ranker.Cost(busy, 100, 10), 6);
        Assert.Equal(["idle", "busy"], Names(Ranker.Rank([busy, idle], 100, 10)));
        busy.Exit();
        busy.Exit();
        Assert.Equal(["busy", "idle"], Names(Ranker.Rank([busy, idle], 100, 10)));
    }

    public void Dispose()
    {
        foreach (var upstream in _created)
        {
            upstream.Dispose();
        }
    }
}
