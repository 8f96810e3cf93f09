using System.Text.Json;

namespace RpcShield.JsonRpc;

/// <summary>
/// Whether two nodes answered a request with the same JSON-RPC error: the same `code` and the same
/// `data` (both absent, equal strings ignoring hex case, or equal JSON values). Messages are not
/// compared: geth, reth and others word the same error differently. Failure path only (it parses).
/// </summary>
internal static class ErrorAgreement
{
    public static bool Same(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        try
        {
            using var a = JsonDocument.Parse(first.ToArray());
            using var b = JsonDocument.Parse(second.ToArray());
            if (!TryError(a.RootElement, out var codeA, out var dataA) || !TryError(b.RootElement, out var codeB, out var dataB) || codeA != codeB)
            {
                return false;
            }

            return (dataA, dataB) switch
            {
                (null, null) => true,
                ({ ValueKind: JsonValueKind.String } x, { ValueKind: JsonValueKind.String } y) => string.Equals(x.GetString(), y.GetString(), StringComparison.OrdinalIgnoreCase),
                ({ } x, { } y) => JsonElement.DeepEquals(x, y),
                _ => false,
            };
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryError(JsonElement root, out int code, out JsonElement? data)
    {
        code = 0;
        data = null;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object
            || !error.TryGetProperty("code", out var codeElement) || !codeElement.TryGetInt32(out code))
        {
            return false;
        }

        if (error.TryGetProperty("data", out var value) && value.ValueKind != JsonValueKind.Null)
        {
            data = value;
        }

        return true;
    }
}
