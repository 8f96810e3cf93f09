using System.Numerics;
using Nethereum.Model;
using Nethereum.Signer;
using RpcShield.Features.Signing;

namespace RpcShield.Features.Inclusion;

/// <summary>A signed transaction's identity: its hash, and the sender and nonce recovered from the signature.</summary>
internal sealed record RawTransaction(string Hash, string Sender, BigInteger Nonce)
{
    /// <summary>Decodes a raw signed transaction (legacy, EIP-155, 2930, 1559, 7702); null when it cannot be decoded.</summary>
    public static RawTransaction? TryDecode(byte[] raw)
    {
        try
        {
            return From(raw, TransactionFactory.CreateTransaction(raw));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Malformed RLP or an unrecoverable signature: the bundle is still tracked by hash only.
            return null;
        }
    }

    /// <summary>The identity of <paramref name="raw"/>, already decoded as <paramref name="transaction"/>; throws when the signature cannot be recovered.</summary>
    public static RawTransaction? From(byte[] raw, ISignedTransaction transaction)
    {
        var sender = transaction.GetSenderAddress();
        BigInteger nonce = transaction switch
        {
            Transaction1559 t => t.Nonce ?? BigInteger.Zero,
            Transaction2930 t => t.Nonce ?? BigInteger.Zero,
            Transaction7702 t => t.Nonce ?? BigInteger.Zero,
            LegacyTransactionChainId t => Quantity(t.Nonce),
            LegacyTransaction t => Quantity(t.Nonce),
            _ => BigInteger.MinusOne,
        };
        return nonce < 0 || string.IsNullOrEmpty(sender) ? null : new RawTransaction("0x" + Convert.ToHexStringLower(FlashbotsSigner.Keccak(raw)), sender, nonce);
    }

    /// <summary>An RLP big-endian unsigned quantity (empty is zero).</summary>
    public static BigInteger Quantity(byte[]? bigEndian) =>
        bigEndian is null || bigEndian.Length == 0 ? BigInteger.Zero : new BigInteger(bigEndian, isUnsigned: true, isBigEndian: true);
}
