using System.Numerics;
using Nethereum.Model;
using Nethereum.Signer;
using RpcShield.Features.Inclusion;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// What judging needs of one signed transaction: who sends it, what it calls, and the most it pays
/// per gas (EIP-1559 max fee, or the gas price of older types).
/// </summary>
internal sealed record BundleTransaction(RawTransaction Identity, string? To, BigInteger Value, string Data, BigInteger Gas, BigInteger MaxFeePerGas)
{
    public string Hash => Identity.Hash;

    public string Sender => Identity.Sender;

    /// <summary>Decodes a raw signed transaction; null when it cannot be decoded (the judge then cannot use it).</summary>
    public static BundleTransaction? TryDecode(byte[] raw)
    {
        try
        {
            var transaction = TransactionFactory.CreateTransaction(raw);
            if (RawTransaction.From(raw, transaction) is not { } identity)
            {
                return null;
            }

            return transaction switch
            {
                Transaction1559 t => new(identity, t.ReceiverAddress, t.Amount ?? 0, Prefixed(t.Data), t.GasLimit ?? 0, t.MaxFeePerGas ?? 0),
                Transaction7702 t => new(identity, t.ReceiverAddress, t.Amount ?? 0, Prefixed(t.Data), t.GasLimit ?? 0, t.MaxFeePerGas ?? 0),
                Transaction2930 t => new(identity, t.ReceiverAddress, t.Amount ?? 0, Prefixed(t.Data), t.GasLimit ?? 0, t.GasPrice ?? 0),
                LegacyTransactionChainId t => Legacy(identity, t.ReceiveAddress, t.Value, t.Data, t.GasLimit, t.GasPrice),
                LegacyTransaction t => Legacy(identity, t.ReceiveAddress, t.Value, t.Data, t.GasLimit, t.GasPrice),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>
    /// Index of the first raw transaction that is not a well-formed signed transaction (typed or legacy
    /// RLP), or -1. Structure only (no signature recovery): cheap enough to refuse malformed bundles
    /// before anything reaches a builder.
    /// </summary>
    public static int FirstMalformed(IReadOnlyList<byte[]> raws)
    {
        for (var i = 0; i < raws.Count; i++)
        {
            try
            {
                if (TransactionFactory.CreateTransaction(raws[i]) is null)
                {
                    return i;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return i;
            }
        }

        return -1;
    }

    private static BundleTransaction Legacy(RawTransaction identity, byte[]? to, byte[]? value, byte[]? data, byte[]? gas, byte[]? gasPrice) =>
        new(identity, to is { Length: 20 } ? "0x" + Convert.ToHexStringLower(to) : null, RawTransaction.Quantity(value), "0x" + Convert.ToHexStringLower(data ?? []), RawTransaction.Quantity(gas), RawTransaction.Quantity(gasPrice));

    private static string Prefixed(string? hex) => string.IsNullOrEmpty(hex) ? "0x" : hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex : "0x" + hex;
}
