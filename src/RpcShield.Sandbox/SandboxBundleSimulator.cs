using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Nethereum.Model;
using Nethereum.Signer;

namespace RpcShield.Sandbox;

/// <summary>
/// `eth_callBundle` for the sandbox builders, answered in the Flashbots relay's shape
/// (`{bundleHash, results: [{txHash, fromAddress, toAddress, gasUsed, value | error, revert}], totalGasUsed, stateBlockNumber}`):
/// the raw transactions are decoded and simulated in order with anvil's `eth_simulateV1` on the
/// state of `stateBlockNumber` (default latest), with validation (nonce, fee, balance) on.
/// </summary>
internal sealed class SandboxBundleSimulator(AnvilClient anvil)
{
    public async Task<byte[]> CallBundleAsync(string id, JsonElement bundle, CancellationToken cancellationToken)
    {
        if (bundle.ValueKind != JsonValueKind.Object || !bundle.TryGetProperty("txs", out var txs) || txs.ValueKind != JsonValueKind.Array || txs.GetArrayLength() == 0)
        {
            return Error(id, -32602, "txs must be a non-empty array of raw transactions");
        }

        var raws = new List<string>();
        var calls = new StringBuilder("[");
        foreach (var tx in txs.EnumerateArray())
        {
            var raw = tx.ValueKind == JsonValueKind.String ? tx.GetString()! : "";
            if (!TryCall(raw, out var call))
            {
                return Error(id, -32602, $"txs[{raws.Count}] is not a decodable signed transaction");
            }

            calls.Append(raws.Count == 0 ? "" : ",").Append(call);
            raws.Add(raw);
        }

        calls.Append(']');
        var state = bundle.TryGetProperty("stateBlockNumber", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "latest";
        var overrides = bundle.TryGetProperty("blockNumber", out var b) && b.ValueKind == JsonValueKind.String ? $",\"blockOverrides\":{{\"number\":\"{b.GetString()}\"}}" : "";
        JsonElement simulated;
        try
        {
            simulated = await anvil.CallAsync("eth_simulateV1", $$"""[{"blockStateCalls":[{"calls":{{calls}}{{overrides}}}],"validation":true},{{JsonSerializer.Serialize(state)}}]""", cancellationToken).ConfigureAwait(false);
        }
        catch (AnvilRpcException ex)
        {
            // An invalid bundle (nonce, fee, balance) is an error answer, as the relay gives.
            return Error(id, -32000, ex.NodeMessage);
        }

        var results = simulated[0].GetProperty("calls");
        using var output = new MemoryStream();
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WritePropertyName("id");
            writer.WriteRawValue(id);
            writer.WriteStartObject("result");
            writer.WriteString("bundleHash", SandboxBundle.HashOf(raws));
            writer.WriteStartArray("results");
            long total = 0;
            for (var i = 0; i < raws.Count; i++)
            {
                var result = results[i];
                var gasUsed = JsonRpc.HexQuantity.Parse(result.GetProperty("gasUsed").GetString());
                total += gasUsed;
                var transaction = TransactionFactory.CreateTransaction(raws[i]);
                writer.WriteStartObject();
                writer.WriteString("txHash", SandboxBundle.TxHash(raws[i]));
                writer.WriteString("fromAddress", transaction.GetSenderAddress());
                writer.WriteNumber("gasUsed", gasUsed);
                var returnData = result.TryGetProperty("returnData", out var r) ? r.GetString() ?? "0x" : "0x";
                if (result.GetProperty("status").GetString() == "0x1")
                {
                    writer.WriteString("value", returnData);
                }
                else
                {
                    writer.WriteString("error", "execution reverted");
                    writer.WriteString("revert", returnData);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteNumber("totalGasUsed", total);
            writer.WriteString("stateBlockNumber", state);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return output.ToArray();
    }

    /// <summary>The eth_simulateV1 call object of a signed EIP-1559 or legacy transaction.</summary>
    private static bool TryCall(string raw, out string call)
    {
        call = "";
        try
        {
            var transaction = TransactionFactory.CreateTransaction(raw);
            var from = transaction.GetSenderAddress();
            switch (transaction)
            {
                case Transaction1559 t:
                    call = Call(from, t.ReceiverAddress, t.Amount, t.Data, t.GasLimit, t.Nonce, $",\"maxFeePerGas\":\"{Hex(t.MaxFeePerGas)}\",\"maxPriorityFeePerGas\":\"{Hex(t.MaxPriorityFeePerGas)}\"");
                    return true;
                case LegacyTransaction t:
                    call = Call(from, t.ReceiveAddress is { Length: > 0 } to ? "0x" + Convert.ToHexStringLower(to) : null, Big(t.Value), t.Data is { Length: > 0 } d ? "0x" + Convert.ToHexStringLower(d) : null, Big(t.GasLimit), Big(t.Nonce), $",\"gasPrice\":\"{Hex(Big(t.GasPrice))}\"");
                    return true;
                default:
                    return false;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }
    }

    private static string Call(string from, string? to, BigInteger? value, string? data, BigInteger? gas, BigInteger? nonce, string fees) =>
        $"{{\"from\":\"{from}\"{(to is null ? "" : $",\"to\":\"{to}\"")},\"value\":\"{Hex(value)}\",\"input\":\"{(string.IsNullOrEmpty(data) ? "0x" : data.StartsWith("0x", StringComparison.Ordinal) ? data : "0x" + data)}\",\"gas\":\"{Hex(gas)}\",\"nonce\":\"{Hex(nonce)}\"{fees}}}";

    private static BigInteger Big(byte[]? bigEndian) => bigEndian is null || bigEndian.Length == 0 ? BigInteger.Zero : new BigInteger(bigEndian, isUnsigned: true, isBigEndian: true);

    private static string Hex(BigInteger? value)
    {
        var digits = (value ?? BigInteger.Zero).ToString("x", CultureInfo.InvariantCulture).TrimStart('0');
        return "0x" + (digits.Length == 0 ? "0" : digits);
    }

    private static byte[] Error(string id, int code, string message) =>
        Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":{code.ToString(CultureInfo.InvariantCulture)},\"message\":{JsonSerializer.Serialize(message)}}}}}");
}
