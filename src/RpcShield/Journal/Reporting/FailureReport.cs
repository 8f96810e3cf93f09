using System.Text.Json.Serialization;

namespace RpcShield.Journal.Reporting;

/// <summary>`rpcshield report` result (`--format json` prints this, snake_case).</summary>
internal sealed record FailureReport(
    string Journal,
    DateTimeOffset Since,
    DateTimeOffset Until,
    long Entries,
    OutcomeBreakdown Outcomes,
    IReadOnlyList<FixItem> FixFirst,
    IReadOnlyList<FailureReasons> UpstreamFailures,
    IReadOnlyList<FailureReasons> BuilderFailures,
    long UnrecoveredRequests,
    IReadOnlyList<UpstreamLatency> Latency,
    LostRaceLatency LostRaces,
    IReadOnlyList<BuilderInclusion> BuilderInclusion,
    IReadOnlyList<ChainAvailability> Availability,
    IReadOnlyList<InstanceBreakdown> Instances,
    BundleReasonBreakdown BundleReasons);

/// <summary>One instance of a fleet sharing the journal (rows carry `journal.instance`): its entries and failures.</summary>
internal sealed record InstanceBreakdown(string Instance, long Entries, long UpstreamFailures, long BuilderFailures, long UnrecoveredRequests, IReadOnlyList<FailureReasons> Upstreams);

/// <summary>
/// Why bundles missed (latest `bundle_status` row of each bundle and target block): judged bundles,
/// how many landed, and the reasons of the misses ranked by count; <see cref="FixFirst"/> is the
/// top reason as one line ("38 % of your misses were fee_too_low: raise max fee …").
/// </summary>
internal sealed record BundleReasonBreakdown(long Judged, long Included, long Missed, IReadOnlyList<BundleReasonShare> Reasons, string? FixFirst);

internal sealed record BundleReasonShare(string Reason, long Count, double Percent, string Advice);

internal sealed record OutcomeBreakdown(long Total, double TotalLostProfit, IReadOnlyList<OutcomeCount> Items);

/// <summary>One outcome class: how many, their share, and the expected profit lost with them (0 for succeeded).</summary>
internal sealed record OutcomeCount(string Outcome, long Count, double Percent, double LostProfit);

/// <summary>A cause to fix, ranked by expected profit lost (then count).</summary>
internal sealed record FixItem(int Rank, string Cause, long Count, double LostProfit, string Advice);

internal sealed record ReasonCount(string Reason, long Count);

/// <summary>Most common failure reasons of one upstream (or builder).</summary>
internal sealed record FailureReasons(string Chain, string Name, long Failures, IReadOnlyList<ReasonCount> TopReasons);

/// <summary>
/// Latency of successful calls per upstream, from the periodic samples: the median over the
/// window of each sample's p50/p90/p99 (the typical value) and the worst p99 seen.
/// </summary>
internal sealed record UpstreamLatency(string Chain, string Upstream, long Samples, double? P50Ms, double? P90Ms, double? P99Ms, double? WorstP99Ms);

/// <summary>
/// Where lost races sit in the latency distribution of all outcome reports that carried
/// `latencyMs`: each lost race's percentile rank; `cluster_percentile` is their median.
/// </summary>
internal sealed record LostRaceLatency(long Lost, long WithLatency, double? ClusterPercentile, double? LowPercentile, double? HighPercentile, double? MedianLatencyMs);

internal sealed record BuilderInclusion(string Chain, string Builder, long Included, long Total, double Rate);

/// <summary>Observed availability (fraction of samples healthy) and request success ratio of one upstream.</summary>
internal sealed record UpstreamAvailability(string Upstream, long Samples, double Availability, double? SuccessRatio);

/// <summary>
/// Availability the configured redundancy gives if failures are independent:
/// 1 − ∏(1 − aᵢ); and the fewest upstreams (best first) reaching 99.9 %.
/// </summary>
internal sealed record ChainAvailability(
    string Chain,
    IReadOnlyList<UpstreamAvailability> Upstreams,
    double Combined,
    [property: JsonPropertyName("min_upstreams_for_999")] int? MinUpstreamsFor999,
    [property: JsonPropertyName("min_upstreams_extrapolated")] bool Extrapolated);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(FailureReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
