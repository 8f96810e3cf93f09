using System.Text.Json;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// Checks an `eth_subscribe` `logs` filter the way nodes parse it (go-ethereum's FilterCriteria)
/// before anything is subscribed: a filter the node would refuse would otherwise be accepted and
/// never deliver. `address` is one address or a list; `topics` at most 4 positions, each null, a
/// 32-byte hash or a list of them; `fromBlock`/`toBlock` a block tag or hex quantity; `blockHash`
/// a hash. Other keys are left to the node, as it ignores them.
/// </summary>
internal static class LogFilterValidator
{
    private static readonly string[] BlockTags = ["latest", "pending", "earliest", "safe", "finalized"];
    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>Null when the filter is acceptable, else the problem (the -32602 message).</summary>
    public static string? Problem(JsonElement filter)
    {
        foreach (var property in filter.EnumerateObject())
        {
            var problem = property.Name switch
            {
                "address" => Addresses(property.Value),
                "topics" => Topics(property.Value),
                "fromBlock" or "toBlock" => Block(property.Name, property.Value),
                "blockHash" => IsHex(property.Value, 32) ? null : "logs filter: blockHash must be a 32-byte hex hash",
                _ => null,
            };
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? Addresses(JsonElement value)
    {
        const string problem = "logs filter: address must be a 20-byte hex address or a list of them";
        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Array => value.EnumerateArray().All(a => IsHex(a, 20)) ? null : problem,
            _ => IsHex(value, 20) ? null : problem,
        };
    }

    private static string? Topics(JsonElement value)
    {
        const string problem = "logs filter: topics must be a list of up to 4 positions, each null, a 32-byte hex hash or a list of them";
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > 4)
        {
            return problem;
        }

        foreach (var position in value.EnumerateArray())
        {
            var ok = position.ValueKind switch
            {
                JsonValueKind.Null => true,
                JsonValueKind.Array => position.EnumerateArray().All(t => t.ValueKind == JsonValueKind.Null || IsHex(t, 32)),
                _ => IsHex(position, 32),
            };
            if (!ok)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? Block(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
        var ok = BlockTags.Contains(text, StringComparer.Ordinal)
            || (text.Length is > 2 and <= 18 && text.StartsWith("0x", StringComparison.Ordinal) && !text.AsSpan(2).ContainsAnyExcept(HexDigits));
        return ok ? null : $"logs filter: {key} must be a block tag (latest, pending, earliest, safe, finalized) or a hex block number";
    }

    private static bool IsHex(JsonElement value, int bytes)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = value.GetString()!;
        return text.Length == 2 + (2 * bytes) && text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && !text.AsSpan(2).ContainsAnyExcept(HexDigits);
    }
}
