namespace RpcShield.Telemetry;

/// <summary>Nearest-rank quantile, the one definition every latency figure in RpcShield uses.</summary>
internal static class Quantile
{
    /// <summary>The value at rank ⌈q·n⌉ of already sorted samples; null without samples.</summary>
    public static double? NearestRank(ReadOnlySpan<double> sorted, double q) =>
        sorted.IsEmpty ? null : sorted[(int)Math.Clamp(Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>Sorts <paramref name="samples"/> in place, then takes the nearest-rank quantile.</summary>
    public static double? OfUnsorted(double[] samples, double q)
    {
        Array.Sort(samples);
        return NearestRank(samples, q);
    }
}
