using RpcShield.Upstreams;

namespace RpcShield.Routing;

/// <summary>The bounded `reason` label of `rpcshield_failovers_total` for an attempt that moved on.</summary>
internal static class FailoverReason
{
    public static string Label(AttemptKind kind) => kind switch
    {
        AttemptKind.NodeError => "node_error",
        AttemptKind.Unsupported => "unsupported",
        AttemptKind.Throttled => "throttled",
        AttemptKind.HttpError => "http_error",
        AttemptKind.Transport => "transport",
        AttemptKind.Timeout => "timeout",
        AttemptKind.Rejected => "rejected",
        _ => "other",
    };

    /// <summary>Every value <see cref="Label"/> can give (seeded at 0 so dashboards see each series before the first failover).</summary>
    public static IEnumerable<string> All => Enum.GetValues<AttemptKind>().Select(Label).Distinct(StringComparer.Ordinal);
}
