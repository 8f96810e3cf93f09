using System.Globalization;
using RpcShield.Configuration;

namespace RpcShield.Routing.Degradation;

/// <summary>
/// The mode a chain's current evidence calls for, before hysteresis: minimal when usable upstreams
/// fall below `minimal_below_healthy` or the failure ratio of attempts on healthy upstreams reaches
/// `minimal_above_failure_rate`; degraded below `degraded_below_healthy` or at
/// `degraded_above_failure_rate`; full otherwise. The ratio counts from `failure_min_requests` attempts.
/// Both healthy thresholds are capped at the number of configured upstreams, so a chain with one
/// upstream is full while it is healthy instead of being degraded forever.
/// </summary>
internal static class ModeTarget
{
    public static (ChainMode Mode, string Cause) Evaluate(DegradationOptions options, int configured, int healthy, long ok, long failed)
    {
        var capped = new DegradationOptions
        {
            DegradedBelowHealthy = Math.Min(options.DegradedBelowHealthy, configured),
            MinimalBelowHealthy = Math.Min(options.MinimalBelowHealthy, configured),
            DegradedAboveFailureRate = options.DegradedAboveFailureRate,
            MinimalAboveFailureRate = options.MinimalAboveFailureRate,
            FailureMinRequests = options.FailureMinRequests,
        };
        return Evaluate(capped, healthy, ok, failed);
    }

    public static (ChainMode Mode, string Cause) Evaluate(DegradationOptions options, int healthy, long ok, long failed)
    {
        var total = ok + failed;
        var ratio = total >= options.FailureMinRequests && total > 0 ? (double)failed / total : 0;
        var ratioText = ratio.ToString("0.00", CultureInfo.InvariantCulture);
        if (healthy < options.MinimalBelowHealthy)
        {
            return (ChainMode.Minimal, $"{healthy} healthy < minimal_below_healthy {options.MinimalBelowHealthy}");
        }

        if (options.MinimalAboveFailureRate > 0 && total >= options.FailureMinRequests && ratio >= options.MinimalAboveFailureRate)
        {
            return (ChainMode.Minimal, $"failure rate {ratioText} >= {options.MinimalAboveFailureRate.ToString(CultureInfo.InvariantCulture)} over {total} attempts");
        }

        if (healthy < options.DegradedBelowHealthy)
        {
            return (ChainMode.Degraded, $"{healthy} healthy < degraded_below_healthy {options.DegradedBelowHealthy}");
        }

        if (options.DegradedAboveFailureRate > 0 && total >= options.FailureMinRequests && ratio >= options.DegradedAboveFailureRate)
        {
            return (ChainMode.Degraded, $"failure rate {ratioText} >= {options.DegradedAboveFailureRate.ToString(CultureInfo.InvariantCulture)} over {total} attempts");
        }

        return (ChainMode.Full, $"{healthy} healthy, failure rate {ratioText}");
    }
}
