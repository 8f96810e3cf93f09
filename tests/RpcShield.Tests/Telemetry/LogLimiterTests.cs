using Microsoft.Extensions.Time.Testing;
using RpcShield.Telemetry;

namespace RpcShield.Tests.Telemetry;

public sealed class LogLimiterTests
{
    [Fact]
    public void A_burst_passes_then_lines_are_counted_until_the_bucket_refills()
    {
        var time = new FakeTimeProvider();
        var metrics = new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry());
        var limiter = new LogLimiter(metrics, time);

        for (var i = 0; i < LogLimiter.Burst; i++)
        {
            Assert.True(limiter.TryAcquire(LogCategories.RequestFailure, out var none));
            Assert.Equal(0, none);
        }

        for (var i = 0; i < 500; i++)
        {
            Assert.False(limiter.TryAcquire(LogCategories.RequestFailure, out _));
        }

        Assert.Equal(500, metrics.LogSuppressed.WithLabels(LogCategories.RequestFailure).Value);
        // Other categories have their own bucket.
        Assert.True(limiter.TryAcquire(LogCategories.Journal, out _));

        time.Advance(LogLimiter.RefillInterval);
        Assert.True(limiter.TryAcquire(LogCategories.RequestFailure, out var suppressed));
        Assert.Equal(500, suppressed);
        Assert.False(limiter.TryAcquire(LogCategories.RequestFailure, out _));

        // A long quiet spell refills the burst, never more.
        time.Advance(TimeSpan.FromHours(1));
        var passed = Enumerable.Range(0, 100).Count(_ => limiter.TryAcquire(LogCategories.RequestFailure, out long _));
        Assert.Equal(LogLimiter.Burst, passed);
    }
}
