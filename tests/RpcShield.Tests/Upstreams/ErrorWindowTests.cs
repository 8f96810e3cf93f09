using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams;

public sealed class ErrorWindowTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    [Fact]
    public void Error_rate_is_zero_below_the_minimum_sample_count()
    {
        var window = new ErrorWindow(_time, TimeSpan.FromSeconds(30));
        for (var i = 0; i < 9; i++)
        {
            window.Record(success: false);
        }

        Assert.Equal(0, window.ErrorRate(10));
        window.Record(success: true);
        Assert.Equal(0.9, window.ErrorRate(10), 6);
        Assert.Equal((1, 9), window.Totals());
    }

    [Fact]
    public void Old_samples_leave_the_window()
    {
        var window = new ErrorWindow(_time, TimeSpan.FromSeconds(10));
        window.Record(success: false);
        window.Record(success: false);
        _time.Advance(TimeSpan.FromSeconds(5));
        window.Record(success: true);
        Assert.Equal((1, 2), window.Totals());
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal((1, 0), window.Totals());
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal((0, 0), window.Totals());
    }

    [Fact]
    public void A_reused_bucket_is_reset_rather_than_accumulated()
    {
        var window = new ErrorWindow(_time, TimeSpan.FromSeconds(2));
        window.Record(success: false);
        _time.Advance(TimeSpan.FromSeconds(2));
        window.Record(success: true);
        Assert.Equal((1, 0), window.Totals());
    }
}
