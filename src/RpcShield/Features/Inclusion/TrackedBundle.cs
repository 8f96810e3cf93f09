namespace RpcShield.Features.Inclusion;

/// <summary>A bundle accepted by at least one builder, waiting for its target block.</summary>
internal sealed class TrackedBundle
{
    public required string Chain { get; init; }

    /// <summary>Portable (Flashbots) bundle hash, 0x-hex.</summary>
    public required string BundleHash { get; init; }

    public required long TargetBlock { get; init; }

    /// <summary>Lower-case 0x-hex keccak256 of each raw tx, in bundle order.</summary>
    public required IReadOnlyList<string> TxHashes { get; init; }

    /// <summary>Decoded sender and nonce of each tx (entries that could not be decoded are skipped).</summary>
    public required IReadOnlyList<RawTransaction> Transactions { get; init; }

    /// <summary>Builders that accepted the submission.</summary>
    public IReadOnlyList<string> AcceptedBy { get; init; } = [];

    public string? Strategy { get; init; }

    /// <summary>What was sent: eth_sendBundle, or a private transaction (eth_sendPrivate[Raw]Transaction).</summary>
    public string Method { get; init; } = "eth_sendBundle";

    /// <summary>
    /// First block of a window (a private transaction: the block after the head when it was sent,
    /// up to <see cref="TargetBlock"/> = its maxBlockNumber); -1 for a bundle, judged at its target block only.
    /// </summary>
    public long FirstBlock { get; init; } = -1;

    /// <summary>Next window block to look at (the tracker's progress through the window).</summary>
    public long NextBlock { get; set; } = -1;

    /// <summary>The next block this bundle is judged at: its target, or for a window the next unchecked block.</summary>
    public long DueBlock => FirstBlock < 0 ? TargetBlock : Math.Max(NextBlock, FirstBlock);
}

/// <summary>The parts of a block inclusion tracking needs (from `eth_getBlockByNumber(n, true)`).</summary>
internal sealed record BlockView(long Number, string Miner, string ExtraDataHex, IReadOnlyList<BlockTransaction> Transactions)
{
    /// <summary>The block's baseFeePerGas in wei (-1 when absent: pre-London or not given).</summary>
    public System.Numerics.BigInteger BaseFeePerGas { get; init; } = System.Numerics.BigInteger.MinusOne;
}

internal sealed record BlockTransaction(string Hash, string From, System.Numerics.BigInteger Nonce);

/// <summary>The verdict for one bundle: outcome, the builder credited with the block, and the competing tx when lost.</summary>
internal sealed record InclusionDecision(string Outcome, string BlockBuilder, string? CompetitorTx)
{
    public const string Included = "included";
    public const string NotIncluded = "not_included";
    public const string Lost = "lost";

    /// <summary>Label used when the block's builder matches no configured builder.</summary>
    public const string OtherBuilder = "other";
}
