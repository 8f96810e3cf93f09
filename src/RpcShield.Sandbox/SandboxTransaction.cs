using System.Numerics;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.RLP;
using Nethereum.Signer;

namespace RpcShield.Sandbox;

/// <summary>The fields of a raw signed transaction a builder needs to simulate it.</summary>
internal sealed record SandboxTransaction(string Hash, string From, BigInteger Nonce, string? To, BigInteger Value, string Data, BigInteger Gas)
{
    public static bool TryDecode(string raw, out SandboxTransaction? transaction)
    {
        transaction = null;
        try
        {
            var signed = TransactionFactory.CreateTransaction(raw);
            var from = signed.GetSenderAddress();
            var hash = SandboxBundle.TxHash(raw);
            transaction = signed switch
            {
                Transaction1559 t => new SandboxTransaction(hash, from, t.Nonce ?? 0, t.ReceiverAddress, t.Amount ?? 0, t.Data ?? "", t.GasLimit ?? 0),
                LegacyTransaction t => new SandboxTransaction(hash, from, t.Nonce.ToBigIntegerFromRLPDecoded(), Address(t.ReceiveAddress), t.Value.ToBigIntegerFromRLPDecoded(), t.Data.ToHex(prefix: true), t.GasLimit.ToBigIntegerFromRLPDecoded()),
                LegacyTransactionChainId t => new SandboxTransaction(hash, from, t.Nonce.ToBigIntegerFromRLPDecoded(), Address(t.ReceiveAddress), t.Value.ToBigIntegerFromRLPDecoded(), t.Data.ToHex(prefix: true), t.GasLimit.ToBigIntegerFromRLPDecoded()),
                _ => null,
            };
            return transaction is not null && !string.IsNullOrEmpty(from);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or NullReferenceException or OverflowException)
        {
            return false;
        }
    }

    private static string? Address(byte[]? bytes) => bytes is { Length: 20 } ? bytes.ToHex(prefix: true) : null;

    /// <summary>The eth_call object that simulates this transaction.</summary>
    public string CallObjectJson()
    {
        var to = To is null ? "" : $"\"to\":\"{To}\",";
        var data = string.IsNullOrEmpty(Data) || Data == "0x" ? "" : $",\"data\":\"{(Data.StartsWith("0x", StringComparison.Ordinal) ? Data : "0x" + Data)}\"";
        return $"{{\"from\":\"{From}\",{to}\"gas\":\"{Hex(Gas)}\",\"value\":\"{Hex(Value)}\"{data}}}";
    }

    private static string Hex(BigInteger value)
    {
        var digits = value.ToString("x", System.Globalization.CultureInfo.InvariantCulture).TrimStart('0');
        return "0x" + (digits.Length == 0 ? "0" : digits);
    }
}
