namespace RpcShield.Routing;

/// <summary>Method globs: `*` matches any run of characters (`trace_*`, `eth_get*`, `*`).</summary>
internal static class MethodGlob
{
    public static bool IsMatch(string pattern, string method)
    {
        var star = pattern.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return string.Equals(pattern, method, StringComparison.Ordinal);
        }

        if (star == pattern.Length - 1 && pattern.IndexOf('*', 0, star) < 0)
        {
            return method.StartsWith(pattern.AsSpan(0, star), StringComparison.Ordinal);
        }

        return Match(pattern.AsSpan(), method.AsSpan());
    }

    public static bool MatchesAny(IReadOnlyList<string> patterns, string method)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (IsMatch(patterns[i], method))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starT = t;
            }
            else if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
