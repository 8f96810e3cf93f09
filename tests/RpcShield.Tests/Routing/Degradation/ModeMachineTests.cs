using Microsoft.Extensions.Time.Testing;
using RpcShield.Configuration;
using RpcShield.Routing.Degradation;

namespace RpcShield.Tests.Routing.Degradation;

public sealed class ModeMachineTests
{
    private static readonly TimeSpan MinTime = TimeSpan.FromSeconds(10);

    [Fact]
    public void Getting_worse_is_immediate()
    {
        var time = new FakeTimeProvider();
        var machine = new ModeMachine(time);
        var t = machine.Observe(ChainMode.Degraded, "1 healthy", MinTime);
        Assert.Equal(new ModeTransition(ChainMode.Full, ChainMode.Degraded, "1 healthy", time.GetUtcNow()), t);
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(ChainMode.Minimal, machine.Observe(ChainMode.Minimal, "0 healthy", MinTime)!.Value.To);
    }

    [Fact]
    public void Recovery_needs_min_time_in_mode_and_sustained_health()
    {
        var time = new FakeTimeProvider();
        var machine = new ModeMachine(time);
        machine.Observe(ChainMode.Minimal, "0 healthy", MinTime);

        time.Advance(TimeSpan.FromSeconds(8));
        Assert.Null(machine.Observe(ChainMode.Full, "3 healthy", MinTime)); // health returns at t=8
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Null(machine.Observe(ChainMode.Full, "3 healthy", MinTime)); // 11 s in mode, but healthy for only 3 s
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Null(machine.Observe(ChainMode.Minimal, "0 healthy", MinTime)); // a relapse resets the clock
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(machine.Observe(ChainMode.Degraded, "1 healthy", MinTime));
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Null(machine.Observe(ChainMode.Degraded, "1 healthy", MinTime));
        time.Advance(TimeSpan.FromMilliseconds(100));
        var t = machine.Observe(ChainMode.Degraded, "1 healthy", MinTime);
        Assert.Equal(ChainMode.Minimal, t!.Value.From);
        Assert.Equal(ChainMode.Degraded, t.Value.To);
        Assert.Equal("recovered: 1 healthy", t.Value.Cause);
        Assert.Equal(ChainMode.Degraded, machine.Mode);
    }

    [Fact]
    public void Target_follows_healthy_count_and_failure_rate()
    {
        var options = new DegradationOptions { DegradedBelowHealthy = 3, MinimalBelowHealthy = 2, DegradedAboveFailureRate = 0.5, MinimalAboveFailureRate = 0.9, FailureMinRequests = 20 };
        Assert.Equal(ChainMode.Full, ModeTarget.Evaluate(options, 3, 100, 10).Mode);
        Assert.Equal(ChainMode.Degraded, ModeTarget.Evaluate(options, 2, 100, 0).Mode);
        Assert.Equal(ChainMode.Minimal, ModeTarget.Evaluate(options, 1, 100, 0).Mode);
        Assert.Equal(ChainMode.Degraded, ModeTarget.Evaluate(options, 3, 10, 10).Mode);
        Assert.Equal(ChainMode.Minimal, ModeTarget.Evaluate(options, 3, 1, 19).Mode);
        Assert.Equal(ChainMode.Full, ModeTarget.Evaluate(options, 3, 1, 9).Mode); // too few attempts to judge
        Assert.Contains("1 healthy < minimal_below_healthy 2", ModeTarget.Evaluate(options, 1, 0, 0).Cause, StringComparison.Ordinal);
        Assert.Equal(ChainMode.Full, ModeTarget.Evaluate(options, configured: 1, healthy: 1, ok: 100, failed: 0).Mode); // one upstream, healthy
        Assert.Equal(ChainMode.Minimal, ModeTarget.Evaluate(options, configured: 1, healthy: 0, ok: 100, failed: 0).Mode);
    }
}
