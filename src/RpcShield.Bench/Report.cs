using static RpcShield.Bench.Fmt;

namespace RpcShield.Bench;

internal static class Report
{
    public static void PrintTable(IReadOnlyList<ScenarioResult> results, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("| scenario | path | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Row(output, r.Scenario, "direct", r.Direct);
            Row(output, r.Scenario, "RpcShield", r.Through);
            if (r.Floor is { } floor)
            {
                Row(output, r.Scenario, ".NET floor", floor);
            }

            foreach (var hop in r.Hops)
            {
                Row(output, r.Scenario, hop.Hop, hop.Load);
            }
        }

        output.WriteLine();
        output.WriteLine("| scenario | added p50 | added p90 | added p99 | added p99.9 | proxy B/req | proxy CPU µs/req | GC gen0/1/2 (through) | heap peak−start | vs nginx req/s | .NET floor: CPU µs/req, B/req, vs nginx | RpcShield vs floor, vs other hops req/s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|");
        foreach (var r in results)
        {
            var ratio = r.Nginx is { } n ? N(r.Through.RequestsPerSecond / n.RequestsPerSecond, "0.00") + "×" : "–";
            var floor = r.Floor is { } f
                ? $"{N(r.FloorCpuMicrosPerRequest!.Value, "0.0")}, {Bytes(r.FloorBytesPerRequest)}, {(r.Nginx is { } n2 ? N(f.RequestsPerSecond / n2.RequestsPerSecond, "0.00") + "×" : "–")}"
                : "–";
            var versus = string.Join(", ", (r.Floor is { } f3 ? new[] { $"floor {N(r.Through.RequestsPerSecond / f3.RequestsPerSecond, "0.00")}×" } : [])
                .Concat(r.Hops.Where(h => h.Hop != "nginx").Select(h => $"{h.Hop} {N(r.Through.RequestsPerSecond / h.Load.RequestsPerSecond, "0.00")}×")));
            output.WriteLine(
                $"| {r.Scenario} | {Us(r.Through.P50Ms - r.Direct.P50Ms)} | {Us(r.Through.P90Ms - r.Direct.P90Ms)} | {Us(r.Through.P99Ms - r.Direct.P99Ms)} | {Us(r.Through.P999Ms - r.Direct.P999Ms)} " +
                $"| {Bytes(r.ProxyBytesPerRequest)} | {N(r.ProxyCpuMicrosPerRequest, "0.0")} | {r.ThroughCost.Gen0}/{r.ThroughCost.Gen1}/{r.ThroughCost.Gen2} " +
                $"| {N((r.ThroughCost.PeakHeapBytes - r.ThroughCost.StartHeapBytes) / 1048576.0, "0.0")} MB | {ratio} | {floor} | {(versus.Length == 0 ? "–" : versus)} |");
        }
    }

    public static void PrintFanout(IReadOnlyList<FanoutResult> results, TextWriter output)
    {
        if (results.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine("| fan-out | bundles | direct to 1 builder p50 / p99 | through RpcShield to last of 10 p50 / p99 | added p50 | added p99 | through RpcShield to first of 10 p50 / p99 |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            output.WriteLine($"| {r.Builders} builders ({(r.SeparateProcess ? "own process" : "in-process")}), signing {(r.Signed ? "on" : "off")} | {r.Bundles} | {N(r.DirectP50Ms)} / {N(r.DirectP99Ms)} ms | {N(r.FanoutP50Ms)} / {N(r.FanoutP99Ms)} ms | {N(r.AddedP50Ms)} ms | {N(r.AddedP99Ms)} ms | {N(r.FirstP50Ms)} / {N(r.FirstP99Ms)} ms |");
        }
    }

    private static void Row(TextWriter output, string scenario, string path, LoadResult r) =>
        output.WriteLine($"| {scenario} | {path} | {N(r.RequestsPerSecond, "0")} | {N(r.P50Ms)} | {N(r.P90Ms)} | {N(r.P99Ms)} | {N(r.P999Ms)} | {r.Errors} |");

    private static string Us(double ms) => $"{N(ms * 1000, "0")} µs";

    /// <summary>Bytes per request, or n/a when the runtime's allocation counter went backwards (see <see cref="ProcessCost.BytesPer"/>).</summary>
    private static string Bytes(double? perRequest) => perRequest is { } bytes ? N(bytes, "0") : "n/a";
}
