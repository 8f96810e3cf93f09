namespace RpcShield.Sandbox;

/// <summary>
/// A sandbox builder's own verdict on one bundle it was sent, in the vocabulary of
/// `rpcshield_getBundleStatus`: `pending`, `included`, or why it was dropped (reverted, fee_too_low,
/// nonce_taken, late, cancelled, not_selected, unknown). The ground truth tests compare RpcShield's reasons with.
/// </summary>
internal sealed record SandboxVerdict(string BundleHash, long Block, string Verdict, string? Detail)
{
    /// <summary>Maps the slot producer's drop message to a reason.</summary>
    public static string Classify(string failure) =>
        failure.Contains(" reverts", StringComparison.Ordinal) ? "reverted"
        : failure.Contains("base fee", StringComparison.OrdinalIgnoreCase) || failure.Contains("fee cap", StringComparison.OrdinalIgnoreCase) ? "fee_too_low"
        : failure.Contains("nonce too low", StringComparison.OrdinalIgnoreCase) || failure.Contains("already used", StringComparison.OrdinalIgnoreCase)
          || failure.Contains("underpriced", StringComparison.OrdinalIgnoreCase) || failure.Contains("already known", StringComparison.OrdinalIgnoreCase) ? "nonce_taken"
        : "unknown";
}
