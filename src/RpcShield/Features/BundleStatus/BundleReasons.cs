namespace RpcShield.Features.BundleStatus;

/// <summary>
/// The vocabulary of `rpcshield_getBundleStatus`: states and the reasons that go with them
/// (`not_included` with reverted, fee_too_low, not_received, late, not_selected or unknown;
/// `lost` with nonce_taken; `cancelled` with cancelled; `rejected` with past_block).
/// </summary>
internal static class BundleReasons
{
    public const string Pending = "pending";
    public const string Included = "included";
    public const string NotIncluded = "not_included";
    public const string Lost = "lost";
    public const string Cancelled = "cancelled";
    public const string Rejected = "rejected";

    public const string Reverted = "reverted";
    public const string FeeTooLow = "fee_too_low";
    public const string NonceTaken = "nonce_taken";
    public const string NotReceived = "not_received";
    public const string Late = "late";
    public const string PastBlock = "past_block";
    public const string NotSelected = "not_selected";
    public const string Unknown = "unknown";

    /// <summary>Every reason (the `reason` label values of `rpcshield_bundle_reasons_total`).</summary>
    public static readonly string[] All = [Reverted, FeeTooLow, NonceTaken, NotReceived, Late, Cancelled, PastBlock, NotSelected, Unknown];

    /// <summary>Builder label for decisions made without a block (refused, or no builder took it).</summary>
    public const string NoBlockBuilder = "none";

    /// <summary>The state a reason belongs to.</summary>
    public static string StateOf(string reason) => reason switch
    {
        NonceTaken => Lost,
        Cancelled => Cancelled,
        PastBlock => Rejected,
        _ => NotIncluded,
    };

    /// <summary>What to do about a reason (the "fix this first" line of `rpcshield report`).</summary>
    public static string Advice(string reason) => reason switch
    {
        FeeTooLow => "raise max fee to at least the base fee of the target block (base fee can rise 12.5 % per block)",
        Reverted => "simulate on the target block's parent state before sending, or list transactions that may revert in revertingTxHashes",
        NonceTaken => "another transaction with your sender and nonce landed first: check for competing or duplicate sends and stale nonce reads",
        NotReceived => "no builder accepted the bundle: check builder errors (signing key, rate limits, endpoints) in the builder failures below",
        Late => "bundles reached builders after the target block was sealed: send earlier or target the next block",
        Cancelled => "you cancelled these bundles (informational)",
        PastBlock => "bundles targeted a block that was already the chain head: target head + 1 or later",
        NotSelected => "valid bundles were outbid or the winning builder did not have them: raise the tip and send to more builders",
        _ => "no evidence for a reason: mark a trusted upstream that supports eth_callBundle or eth_simulateV1 so bundles can be simulated",
    };
}
