using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams;

public sealed class LatencyTrackerTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    [Fact]
    public void Starts_at_the_cold_start_value_without_samples()
    {
        var tracker = new LatencyTracker(_time, coldStartMs: 50);
        Assert.Equal(50, tracker.PeakEwmaMs);
        Assert.Null(tracker.Quantile(0.5));
        Assert.Equal(0, tracker.SampleCount);
    }

    [Fact]
    public void A_slow_call_raises_the_peak_at_once()
    {
        var tracker = new LatencyTracker(_time, coldStartMs: 10);
        tracker.Record(TimeSpan.FromMilliseconds(400));
        Assert.Equal(400, tracker.PeakEwmaMs, 6);
    }

    [Fact]
    public void Fast_calls_decay_the_peak_with_a_10s_time_constant()
    {
        var tracker = new LatencyTracker(_time, coldStartMs: 10);
        tracker.Record(TimeSpan.FromMilliseconds(400));
        _time.Advance(TimeSpan.FromSeconds(10));
        tracker.Record(TimeSpan.FromMilliseconds(10));
        // w = e^-1: 400 × 0.3679 + 10 × 0.6321
        Assert.Equal((400 * Math.Exp(-1)) + (10 * (1 - Math.Exp(-1))), tracker.PeakEwmaMs, 6);

        // Calls in quick succession barely move it (1 ms minimum elapsed).
        var before = tracker.PeakEwmaMs;
        tracker.Record(TimeSpan.FromMilliseconds(1));
        Assert.True(before - tracker.PeakEwmaMs < 0.1);
    }

    [Fact]
    public void Quantiles_come_from_recent_samples()
    {
        var tracker = new LatencyTracker(_time);
        for (var ms = 1; ms <= 100; ms++)
        {
            tracker.Record(TimeSpan.FromMilliseconds(ms));
        }

        Assert.Equal(50, tracker.Quantile(0.5));
        Assert.Equal(90, tracker.Quantile(0.9));
        Assert.Equal(1, tracker.Quantile(0));
        Assert.Equal(100, tracker.Quantile(1));
        Assert.Equal(100, tracker.SampleCount);
    }

    [Fact]
    public void The_ring_keeps_the_last_512_samples()
    {
        var tracker = new LatencyTracker(_time);
        for (var i = 0; i < 512; i++)
        {
            tracker.Record(TimeSpan.FromMilliseconds(1000));
        }

        for (var i = 0; i < 512; i++)
        {
            tracker.Record(TimeSpan.FromMilliseconds(5));
        }

        Assert.Equal(512, tracker.SampleCount);
        Assert.Equal(5, tracker.Quantile(1));
    }

    [Fact]
    public void Seed_applies_only_before_live_samples()
    {
        var tracker = new LatencyTracker(_time);
        tracker.Seed(123);
        Assert.Equal(123, tracker.PeakEwmaMs);
        tracker.Record(TimeSpan.FromMilliseconds(500));
        tracker.Seed(7);
        Assert.Equal(500, tracker.PeakEwmaMs);
    }
}
