using System.Globalization;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// A 32-byte block hash held inline (no string per cache entry), compared case-blind by value.
/// The default value is "unknown": no real block hashes to zero.
/// </summary>
internal readonly record struct BlockHash(ulong A, ulong B, ulong C, ulong D)
{
    public bool IsKnown => this != default;

    /// <summary>`0x` and 64 hex digits (UTF-8); anything else is unknown.</summary>
    public static BlockHash Parse(ReadOnlySpan<byte> utf8)
    {
        const NumberStyles Hex = NumberStyles.AllowHexSpecifier;
        var c = CultureInfo.InvariantCulture;
        return utf8.Length == 66 && utf8[0] == '0' && utf8[1] is (byte)'x' or (byte)'X'
            && ulong.TryParse(utf8.Slice(2, 16), Hex, c, out var a) && ulong.TryParse(utf8.Slice(18, 16), Hex, c, out var b)
            && ulong.TryParse(utf8.Slice(34, 16), Hex, c, out var d1) && ulong.TryParse(utf8.Slice(50, 16), Hex, c, out var d2)
            ? new BlockHash(a, b, d1, d2)
            : default;
    }

    /// <summary>`0x` and 64 hex digits; null or anything else is unknown.</summary>
    public static BlockHash Parse(string? value)
    {
        if (value is not { Length: 66 })
        {
            return default;
        }

        Span<byte> utf8 = stackalloc byte[66];
        for (var i = 0; i < 66; i++)
        {
            if (value[i] > 127)
            {
                return default;
            }

            utf8[i] = (byte)value[i];
        }

        return Parse(utf8);
    }
}
