using RpcShield.Upstreams;

namespace RpcShield.Features.Broadcast;

/// <summary>How one upstream took a broadcast transaction (`outcome` label of rpcshield_broadcasts_total).</summary>
internal static class BroadcastOutcome
{
    // Node answers that mean "I already have exactly this transaction".
    private static readonly string[] KnownMessages = ["already known", "known transaction", "transaction already imported", "already imported", "alreadyknown"];

    public const string Accepted = "accepted";
    public const string Known = "known";
    public const string Rejected = "rejected";
    public const string Error = "error";
    public const string Timeout = "timeout";
    public const string Throttled = "throttled";
    public const string Skipped = "skipped";
    public const string Cancelled = "cancelled";

    public static bool IsKnownMessage(string? message) =>
        message is not null && KnownMessages.Any(k => message.Contains(k, StringComparison.OrdinalIgnoreCase));

    public static bool IsNonceTooLow(string? message) =>
        message is not null && message.Contains("nonce too low", StringComparison.OrdinalIgnoreCase);

    /// <summary>Label for an attempt that is neither accepted nor known.</summary>
    public static string Failure(AttemptOutcome attempt) => attempt.Kind switch
    {
        AttemptKind.Answered => Rejected,
        AttemptKind.Timeout => Timeout,
        AttemptKind.Throttled => Throttled,
        AttemptKind.Rejected => Skipped,
        AttemptKind.Cancelled => Cancelled,
        _ when attempt.Reply.HasError => Rejected,
        _ => Error,
    };

    /// <summary>How informative a failed answer is for the client: a node's own rejection beats everything else.</summary>
    public static int Informativeness(AttemptOutcome attempt)
    {
        if (!attempt.Reply.IsJsonRpc || !attempt.Reply.HasError || attempt.Body is null)
        {
            return 0;
        }

        return attempt.Kind switch
        {
            AttemptKind.Answered or AttemptKind.Unconfirmed => 3,
            AttemptKind.NodeError => 2,
            _ => 1,
        };
    }
}
