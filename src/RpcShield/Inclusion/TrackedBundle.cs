namespace RpcShield.Inclusion;

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
