using System.Globalization;
using System.Text;

namespace RpcShield.Journal.Reporting;

/// <summary>Renders a <see cref="FailureReport"/> as plain terminal tables.</summary>
internal static class ReportTextRenderer
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(FailureReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"RpcShield failure report  {r.Since:yyyy-MM-dd HH:mm} .. {r.Until:yyyy-MM-dd HH:mm} UTC  ({r.Entries} journal entries, {r.Journal})");
        sb.AppendLine();

        sb.AppendLine(Inv, $"OUTCOMES ({r.Outcomes.Total} reported, {F(r.Outcomes.TotalLostProfit)} expected profit lost)");
        if (r.Outcomes.Total > 0)
        {
            sb.AppendLine("  " + string.Join(" / ", r.Outcomes.Items.Where(i => i.Count > 0).Select(i => $"{i.Count} {Short(i.Outcome)}")));
        }

        Table(sb, ["outcome", "count", "share", "lost profit"], r.Outcomes.Items.Select(i => new[] { i.Outcome, N(i.Count), $"{F(i.Percent)} %", i.Outcome == "succeeded" ? "-" : F(i.LostProfit) }));

        sb.AppendLine("FIX THIS FIRST");
        if (r.FixFirst.Count == 0)
        {
            sb.AppendLine("  nothing lost in this window");
        }

        foreach (var item in r.FixFirst)
        {
            sb.AppendLine(Inv, $"  {item.Rank}. {item.Cause}: {item.Count} lost, {F(item.LostProfit)} expected profit. {item.Advice}");
        }

        if (r.BundleReasons.FixFirst is { } bundles)
        {
            sb.AppendLine("  bundles: " + bundles);
        }

        sb.AppendLine();
        var b = r.BundleReasons;
        sb.AppendLine(Inv, $"WHY BUNDLES MISSED ({b.Judged} judged: {b.Included} included, {b.Missed} missed; rpcshield_getBundleStatus)");
        Table(sb, ["reason", "count", "share", "what to do"], b.Reasons.Select(x => new[] { x.Reason, N(x.Count), $"{F(x.Percent)} %", x.Advice }));
        sb.AppendLine(Inv, $"FAILURE REASONS PER UPSTREAM ({r.UnrecoveredRequests} request(s) no upstream could serve)");
        Table(sb, ["chain", "upstream", "failures", "top reasons"], r.UpstreamFailures.Select(f => new[] { f.Chain, f.Name, N(f.Failures), Reasons(f) }));
        sb.AppendLine("FAILURE REASONS PER BUILDER");
        Table(sb, ["chain", "builder", "failures", "top reasons"], r.BuilderFailures.Select(f => new[] { f.Chain, f.Name, N(f.Failures), Reasons(f) }));

        if (r.Instances.Count > 0)
        {
            sb.AppendLine(Inv, $"PER INSTANCE ({r.Instances.Count} instance(s) wrote this journal)");
            Table(sb, ["instance", "entries", "upstream failures", "builder failures", "unserved", "top failing upstreams"], r.Instances.Select(i => new[]
            {
                i.Instance, N(i.Entries), N(i.UpstreamFailures), N(i.BuilderFailures), N(i.UnrecoveredRequests),
                string.Join("; ", i.Upstreams.Take(3).Select(u => $"{u.Chain}/{u.Name}: {Reasons(u)}")),
            }));
        }

        sb.AppendLine("LATENCY PER UPSTREAM (ms, typical over the window)");
        Table(sb, ["chain", "upstream", "samples", "p50", "p90", "p99", "worst p99"], r.Latency.Select(l => new[] { l.Chain, l.Upstream, N(l.Samples), F(l.P50Ms), F(l.P90Ms), F(l.P99Ms), F(l.WorstP99Ms) }));
        sb.AppendLine(r.LostRaces.ClusterPercentile is { } p
            ? string.Create(Inv, $"  lost races cluster at p{p:0} of reported latency (middle half p{r.LostRaces.LowPercentile:0}..p{r.LostRaces.HighPercentile:0}; median {F(r.LostRaces.MedianLatencyMs)} ms; {r.LostRaces.WithLatency} of {r.LostRaces.Lost} lost races carried latencyMs)")
            : $"  lost races: {r.LostRaces.Lost}; none carried latencyMs, so where they cluster is unknown");
        sb.AppendLine();

        sb.AppendLine("BUILDER INCLUSION");
        Table(sb, ["chain", "builder", "included", "bundles", "rate"], r.BuilderInclusion.Select(b => new[] { b.Chain, b.Builder, N(b.Included), N(b.Total), Pct(b.Rate) }));

        sb.AppendLine("AVAILABILITY (observed; redundancy assumes independent failures: 1 - prod(1 - a_i))");
        foreach (var chain in r.Availability)
        {
            Table(sb, ["chain", "upstream", "samples", "availability", "request success"], chain.Upstreams.Select(u => new[] { chain.Chain, u.Upstream, N(u.Samples), Pct(u.Availability), u.SuccessRatio is { } s ? Pct(s) : "-" }));
            var min = chain.MinUpstreamsFor999 is { } n
                ? (chain.Extrapolated ? $"about {n} upstreams like the median one would (extrapolated)" : $"{n} upstream(s) reach it")
                : "not reachable with upstreams like these";
            sb.AppendLine(Inv, $"  {chain.Chain}: {chain.Upstreams.Count} upstream(s) together give {Pct(chain.Combined)}; 99.9 %: {min}");
            sb.AppendLine();
        }

        if (r.Availability.Count == 0)
        {
            sb.AppendLine("  no upstream samples in this window");
        }

        return sb.ToString();
    }

    private static string Reasons(FailureReasons f) => string.Join(", ", f.TopReasons.Select(x => $"{x.Reason} ({x.Count})"));

    private static string Short(string outcome) => outcome switch
    {
        "lost_to_competitor" => "lost to competitors",
        "rpc_failure" => "RPC",
        "simulation_error" => "simulation",
        _ => outcome,
    };

    private static string N(long value) => value.ToString(Inv);

    private static string F(double? value) => value is { } v ? v.ToString("0.###", Inv) : "-";

    private static string Pct(double ratio) => (ratio * 100).ToString("0.###", Inv) + " %";

    private static void Table(StringBuilder sb, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        if (all.Count == 0)
        {
            sb.AppendLine("  (none)");
            sb.AppendLine();
            return;
        }

        var widths = header.Select((h, i) => Math.Max(h.Length, all.Max(r => r[i].Length))).ToArray();
        void Line(string[] cells) => sb.AppendLine("  " + string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var row in all)
        {
            Line(row);
        }

        sb.AppendLine();
    }
}
