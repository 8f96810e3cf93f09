namespace RpcShield.JsonRpc;

/// <summary>
/// Checks the `\uXXXX` escapes of a raw (still escaped) JSON string: a high surrogate must be
/// followed by a low one and a low one must follow a high one. JSON's grammar allows lone
/// surrogates but they are not Unicode text: decoding them throws, and nodes disagree on them.
/// </summary>
internal static class JsonEscapes
{
    public static bool AreWellFormed(ReadOnlySpan<byte> raw)
    {
        var pendingHigh = false;
        for (var i = raw.IndexOf((byte)'\\'); i >= 0 && i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                if (pendingHigh)
                {
                    return false;
                }

                continue;
            }

            // The reader has validated the escape syntax: `\` is followed by one of "\/bfnrtu, and `u` by 4 hex digits.
            if (raw[i + 1] != (byte)'u')
            {
                if (pendingHigh)
                {
                    return false;
                }

                i++;
                continue;
            }

            var unit = Hex(raw.Slice(i + 2, 4));
            var isHigh = unit is >= 0xD800 and <= 0xDBFF;
            var isLow = unit is >= 0xDC00 and <= 0xDFFF;
            if (pendingHigh != isLow)
            {
                return false;
            }

            pendingHigh = isHigh;
            i += 5;
        }

        return !pendingHigh;
    }

    private static int Hex(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var digit in digits)
        {
            value = (value << 4) | (digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10);
        }

        return value;
    }
}
