using Nethereum.Hex.HexConvertors.Extensions;
using RpcShield.Features.Signing;

namespace RpcShield.Sandbox;

/// <summary>A bundle (or a private transaction) a sandbox builder holds until it wins a slot or the bundle expires.</summary>
internal sealed class SandboxBundle
{
    public required string BundleHash { get; init; }

    /// <summary>Raw signed transactions (0x hex), in order.</summary>
    public required IReadOnlyList<string> Txs { get; init; }

    /// <summary>Target block; null for a private transaction (any block up to <see cref="MaxBlock"/>).</summary>
    public long? Block { get; init; }

    public long MaxBlock { get; init; } = long.MaxValue;

    /// <summary>Hashes of transactions allowed to revert (lowercase 0x hex).</summary>
    public IReadOnlySet<string> RevertingTxHashes { get; init; } = new HashSet<string>();

    public string? ReplacementUuid { get; init; }

    public long? MinTimestamp { get; init; }

    public long? MaxTimestamp { get; init; }

    /// <summary>Order of arrival at the builder.</summary>
    public long Sequence { get; init; }

    public bool IsPrivateTransaction => Block is null;

    public bool Targets(long block) => Block is { } b ? b == block : block <= MaxBlock;

    /// <summary>keccak256 of one raw transaction: its transaction hash.</summary>
    public static string TxHash(string raw) => FlashbotsSigner.Keccak(raw.HexToByteArray()).ToHex(prefix: true);

    /// <summary>The Flashbots bundle hash: keccak256 of the concatenated transaction hashes.</summary>
    public static string HashOf(IReadOnlyList<string> txs)
    {
        var concatenated = new byte[32 * txs.Count];
        for (var i = 0; i < txs.Count; i++)
        {
            FlashbotsSigner.Keccak(txs[i].HexToByteArray()).CopyTo(concatenated, 32 * i);
        }

        return FlashbotsSigner.Keccak(concatenated).ToHex(prefix: true);
    }
}
