using RpcShield.Features.Inclusion;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// What RpcShield knows about one bundle for one target block. Mutated only under the
/// <see cref="BundleStatusBook"/>'s lock; readers get a <see cref="BundleStatusView"/> copy.
/// </summary>
internal sealed class BundleStatusEntry
{
    public required string Chain { get; init; }

    public required string BundleHash { get; init; }

    public required long TargetBlock { get; init; }

    public string State { get; set; } = BundleReasons.Pending;

    public string? Reason { get; set; }

    public string? Detail { get; set; }

    public long? IncludedBlock { get; set; }

    public string? IncludedBuilder { get; set; }

    public string? ReplacementUuid { get; set; }

    public string? Strategy { get; set; }

    /// <summary>Lower-case 0x-hex hashes of the bundle's transactions, in order.</summary>
    public IReadOnlyList<string> TxHashes { get; set; } = [];

    /// <summary>The raw transactions (kept until the bundle is judged: simulation and fee checks need them).</summary>
    public IReadOnlyList<byte[]> RawTransactions { get; set; } = [];

    /// <summary>The bot's request item as sent to the builders (revertingTxHashes are read from it when judging).</summary>
    public byte[] Request { get; set; } = [];

    /// <summary>The bundle as the inclusion tracker knows it (re-tracked after a reorg).</summary>
    public TrackedBundle? Tracked { get; set; }

    /// <summary>True once the bot cancelled (or replaced) it before its target block.</summary>
    public bool CancelRequested { get; set; }

    public Dictionary<string, BuilderAnswer> Builders { get; } = new(StringComparer.Ordinal);

    public BundleStatusView View() => new(
        Chain, BundleHash, TargetBlock, State, Reason, Detail,
        IncludedBlock is { } block ? new IncludedIn(block, IncludedBuilder ?? InclusionDecision.OtherBuilder) : null,
        [.. Builders.Values]);
}

/// <summary>The `includedIn` object: the block and the builder credited with it.</summary>
internal sealed record IncludedIn(long Block, string Builder);

/// <summary>An immutable copy of a bundle's status (the `rpcshield_getBundleStatus` answer).</summary>
internal sealed record BundleStatusView(
    string Chain,
    string BundleHash,
    long TargetBlock,
    string State,
    string? Reason,
    string? Detail,
    IncludedIn? IncludedIn,
    IReadOnlyList<BuilderAnswer> Builders);
