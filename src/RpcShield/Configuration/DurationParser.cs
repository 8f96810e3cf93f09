using System.Globalization;

namespace RpcShield.Configuration;

/// <summary>Parses `250ms`, `2s`, `5m`, `1h`, `1d` (and `0`).</summary>
internal static class DurationParser
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        if (s == "0")
        {
            value = TimeSpan.Zero;
            return true;
        }

        var unitStart = 0;
        while (unitStart < s.Length && (char.IsDigit(s[unitStart]) || s[unitStart] == '.'))
        {
            unitStart++;
        }

        if (unitStart == 0 || !double.TryParse(s.AsSpan(0, unitStart), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        double? ms = s[unitStart..] switch
        {
            "us" or "µs" => number / 1000,
            "ms" => number,
            "s" => number * 1000,
            "m" => number * 60_000,
            "h" => number * 3_600_000,
            "d" => number * 86_400_000,
            _ => null,
        };
        if (ms is null || ms > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)(ms.Value * TimeSpan.TicksPerMillisecond));
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalMilliseconds < 1000 ? $"{value.TotalMilliseconds:0.###}ms" : $"{value.TotalSeconds:0.###}s";
}
