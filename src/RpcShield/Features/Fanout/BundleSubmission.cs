using System.Text.Json;
using RpcShield.Features.Signing;

namespace RpcShield.Features.Fanout;

/// <summary>
/// What the fan-out needs to know about a submission's params (the bytes themselves are forwarded
/// unchanged): the raw transactions and target block of a bundle, the replacementUuid of a cancel,
/// the raw transaction of a private send. Parsing failures become -32602 with a clear message.
/// </summary>
internal sealed class BundleSubmission
{
    public required string Method { get; init; }

    /// <summary>Raw signed transactions (bundle txs, or the single private transaction).</summary>
    public IReadOnlyList<byte[]> RawTransactions { get; init; } = [];

    /// <summary>Target block of an eth_sendBundle (-1 when absent).</summary>
    public long BlockNumber { get; init; } = -1;

    public string? ReplacementUuid { get; init; }

    /// <summary>The private transaction an eth_cancelPrivateTransaction cancels (lower-case 0x-hex).</summary>
    public string? CancelTxHash { get; init; }

    /// <summary>Last block a private transaction may land in (`maxBlockNumber` of eth_sendPrivateTransaction; -1 when absent: the default window is the tracker's to apply, +25 blocks).</summary>
    public long MaxBlockNumber { get; init; } = -1;

    /// <summary>Names of the params[0] fields of a bundle (eth_sendBundle, mev_sendBundle): what a builder's dialect may drop.</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];

    /// <summary>Parses <paramref name="params"/> for <paramref name="method"/>; returns null and an error message when invalid.</summary>
    public static BundleSubmission? Parse(string method, ReadOnlyMemory<byte> @params, out string? error)
    {
        error = null;
        try
        {
            using var document = JsonDocument.Parse(@params.IsEmpty ? "[]"u8.ToArray() : @params, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            var first = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? root[0] : default;
            switch (method)
            {
                case "eth_sendBundle":
                    return ParseBundle(first, out error);
                case "eth_cancelBundle":
                    if (first.ValueKind != JsonValueKind.Object || !first.TryGetProperty("replacementUuid", out var uuid) || uuid.ValueKind != JsonValueKind.String)
                    {
                        error = "eth_cancelBundle params must be [{\"replacementUuid\": \"…\"}]";
                        return null;
                    }

                    return new BundleSubmission { Method = method, ReplacementUuid = uuid.GetString() };
                case "eth_sendPrivateRawTransaction":
                    if (first.ValueKind != JsonValueKind.String || !TryHex(first.GetString(), out var raw) || raw.Length == 0)
                    {
                        error = "eth_sendPrivateRawTransaction params must be [\"0x<signed transaction>\", …]";
                        return null;
                    }

                    return new BundleSubmission { Method = method, RawTransactions = [raw] };
                case "eth_sendPrivateTransaction":
                    if (first.ValueKind != JsonValueKind.Object || !first.TryGetProperty("tx", out var tx) || tx.ValueKind != JsonValueKind.String
                        || !TryHex(tx.GetString(), out var privateRaw) || privateRaw.Length == 0)
                    {
                        error = "eth_sendPrivateTransaction params must be [{\"tx\": \"0x<signed transaction>\", …}]";
                        return null;
                    }

                    long maxBlock = -1;
                    if (first.TryGetProperty("maxBlockNumber", out var max) && !TryQuantity(max, out maxBlock))
                    {
                        error = "eth_sendPrivateTransaction: maxBlockNumber must be a hex quantity such as \"0x1234\"";
                        return null;
                    }

                    return new BundleSubmission { Method = method, RawTransactions = [privateRaw], MaxBlockNumber = maxBlock };
                case "eth_cancelPrivateTransaction":
                    if (first.ValueKind != JsonValueKind.Object || !first.TryGetProperty("txHash", out var cancelHash) || cancelHash.ValueKind != JsonValueKind.String
                        || !TryHex(cancelHash.GetString(), out var hashBytes) || hashBytes.Length != 32)
                    {
                        error = "eth_cancelPrivateTransaction params must be [{\"txHash\": \"0x<32-byte transaction hash>\"}]";
                        return null;
                    }

                    return new BundleSubmission { Method = method, CancelTxHash = Hex(hashBytes) };
                case "mev_sendBundle":
                    return new BundleSubmission { Method = method, Fields = FieldsOf(first) };
                default:
                    return new BundleSubmission { Method = method };
            }
        }
        catch (JsonException)
        {
            error = "params are not valid JSON";
            return null;
        }
    }

    private static BundleSubmission? ParseBundle(JsonElement bundle, out string? error)
    {
        error = null;
        if (bundle.ValueKind != JsonValueKind.Object)
        {
            error = "eth_sendBundle params must be [{\"txs\": [...], \"blockNumber\": \"0x…\"}]";
            return null;
        }

        if (!bundle.TryGetProperty("txs", out var txs) || txs.ValueKind != JsonValueKind.Array)
        {
            error = "eth_sendBundle: txs must be an array of signed transactions";
            return null;
        }

        var raws = new List<byte[]>(txs.GetArrayLength());
        var index = 0;
        foreach (var tx in txs.EnumerateArray())
        {
            if (tx.ValueKind != JsonValueKind.String || !TryHex(tx.GetString(), out var raw) || raw.Length == 0)
            {
                error = $"eth_sendBundle: txs[{index}] is not a 0x-prefixed hex signed transaction";
                return null;
            }

            raws.Add(raw);
            index++;
        }

        string? replacementUuid = null;
        if (bundle.TryGetProperty("replacementUuid", out var uuid) && uuid.ValueKind == JsonValueKind.String)
        {
            replacementUuid = uuid.GetString();
        }

        if (raws.Count == 0 && replacementUuid is null)
        {
            error = "eth_sendBundle: txs is empty (an empty bundle is only meaningful as a cancel with replacementUuid)";
            return null;
        }

        long block = -1;
        if (bundle.TryGetProperty("blockNumber", out var number))
        {
            if (!TryQuantity(number, out block))
            {
                error = "eth_sendBundle: blockNumber must be a hex quantity such as \"0x1234\"";
                return null;
            }
        }
        else if (raws.Count > 0)
        {
            error = "eth_sendBundle: blockNumber is required";
            return null;
        }

        return new BundleSubmission { Method = "eth_sendBundle", RawTransactions = raws, BlockNumber = block, ReplacementUuid = replacementUuid, Fields = FieldsOf(bundle) };
    }

    private static string[] FieldsOf(JsonElement bundle)
    {
        if (bundle.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        var fields = new List<string>();
        foreach (var property in bundle.EnumerateObject())
        {
            fields.Add(property.Name);
        }

        return [.. fields];
    }

    /// <summary>keccak256 of each raw transaction: the transaction hashes.</summary>
    public static byte[][] TransactionHashes(IReadOnlyList<byte[]> raws)
    {
        var hashes = new byte[raws.Count][];
        for (var i = 0; i < raws.Count; i++)
        {
            hashes[i] = FlashbotsSigner.Keccak(raws[i]);
        }

        return hashes;
    }

    /// <summary>The portable (Flashbots) bundle id: keccak256 of the concatenated keccak256 hashes of the raw txs.</summary>
    public static byte[] BundleHash(IReadOnlyList<byte[]> raws)
    {
        var hashes = TransactionHashes(raws);
        var concatenated = new byte[hashes.Length * 32];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i].CopyTo(concatenated, i * 32);
        }

        return FlashbotsSigner.Keccak(concatenated);
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => "0x" + Convert.ToHexStringLower(bytes);

    internal static bool TryHex(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null || !text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.Length % 2 != 0)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromHexString(text.AsSpan(2));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool TryQuantity(JsonElement element, out long value)
    {
        value = -1;
        if (element.ValueKind == JsonValueKind.Number)
        {
            return element.TryGetInt64(out value) && value >= 0;
        }

        var text = element.ValueKind == JsonValueKind.String ? element.GetString() : null;
        return JsonRpc.HexQuantity.TryParse(text, out value);
    }
}
