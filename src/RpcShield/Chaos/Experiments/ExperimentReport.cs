using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace RpcShield.Chaos.Experiments;

/// <summary>One probe through the proxy.</summary>
internal readonly record struct ProbeSample(string Phase, TimeSpan At, bool Ok, double LatencyMs, string? Upstream, string? Error);

internal sealed record PhaseReport(
    string Phase, double DurationSeconds, int Probes, int Failures, double SuccessRate, double? P50Ms, double? P90Ms, double? P99Ms,
    bool HypothesisMet, IReadOnlyDictionary<string, int> ServedBy, IReadOnlyList<string> SampleErrors)
{
    public static PhaseReport From(string phase, TimeSpan duration, IReadOnlyList<ProbeSample> samples, HypothesisOptions hypothesis)
    {
        var ok = samples.Count(s => s.Ok);
        var latencies = samples.Where(s => s.Ok).Select(s => s.LatencyMs).Order().ToArray();
        var rate = samples.Count == 0 ? 0 : (double)ok / samples.Count;
        var p99 = Quantile(latencies, 0.99);
        return new PhaseReport(
            phase,
            Math.Round(duration.TotalSeconds, 3),
            samples.Count,
            samples.Count - ok,
            Math.Round(rate, 6),
            Quantile(latencies, 0.5),
            Quantile(latencies, 0.9),
            p99,
            Meets(samples.Count, rate, p99, hypothesis),
            samples.Where(s => s.Upstream is not null).GroupBy(s => s.Upstream!).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            samples.Where(s => s.Error is not null).Select(s => s.Error!).Distinct().Take(5).ToArray());
    }

    public static bool Meets(int count, double successRate, double? p99Ms, HypothesisOptions hypothesis) =>
        count > 0 && successRate >= hypothesis.SuccessRate && (hypothesis.P99 is not { } max || (p99Ms is { } p && p <= max.TotalMilliseconds));

    public static double? Quantile(double[] sorted, double q) =>
        Telemetry.Quantile.NearestRank(sorted, q) is { } value ? Math.Round(value, 3) : null;
}

internal sealed record ExperimentReport
{
    /// <summary>pass, fail or inconclusive.</summary>
    public required string Verdict { get; init; }
    public required string Name { get; init; }
    public required string Target { get; init; }
    public required IReadOnlyList<string> Reasons { get; init; }
    public required IReadOnlyList<PhaseReport> Phases { get; init; }
    /// <summary>Injections counted by the proxy (rpcshield_chaos_injections_total delta) per rule.</summary>
    public required IReadOnlyDictionary<string, double> InjectionsByRule { get; init; }
    public double TotalInjections => InjectionsByRule.Values.Sum();
    public bool Aborted { get; init; }
    public string? AbortReason { get; init; }
    /// <summary>Seconds into the chaos phase when injection was stopped by the abort condition.</summary>
    public double? AbortedAfterSeconds { get; init; }
    /// <summary>Seconds from the end of injection until the hypothesis held again (null: never within recovery).</summary>
    public double? TimeToRecoverSeconds { get; init; }
    public DateTimeOffset StartedAt { get; init; }

    public string ToText()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"experiment {Name} against {Target}: {Verdict.ToUpperInvariant()}");
        foreach (var reason in Reasons)
        {
            text.AppendLine(inv, $"  - {reason}");
        }

        text.AppendLine();
        text.AppendLine("phase       probes  failures  success    p50 ms   p90 ms   p99 ms  hypothesis  served by");
        foreach (var p in Phases)
        {
            var served = string.Join(", ", p.ServedBy.Select(kv => $"{kv.Key}={kv.Value}"));
            text.AppendLine(inv, $"{p.Phase,-10} {p.Probes,7} {p.Failures,9} {p.SuccessRate * 100,8:0.00}% {Ms(p.P50Ms),8} {Ms(p.P90Ms),8} {Ms(p.P99Ms),8}  {(p.HypothesisMet ? "met" : "BROKEN"),-10}  {served}");
        }

        text.AppendLine();
        text.AppendLine(inv, $"injections: {TotalInjections:0} ({string.Join(", ", InjectionsByRule.Select(kv => $"{kv.Key}={kv.Value:0}"))})");
        if (Aborted)
        {
            text.AppendLine(inv, $"aborted after {AbortedAfterSeconds:0.###}s of chaos: {AbortReason}");
        }

        text.AppendLine(TimeToRecoverSeconds is { } ttr ? string.Create(inv, $"time to recover: {ttr:0.###}s") : "time to recover: not recovered within the recovery phase");
        return text.ToString();

        static string Ms(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "-";
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(ExperimentReport))]
internal sealed partial class ExperimentJson : JsonSerializerContext;
