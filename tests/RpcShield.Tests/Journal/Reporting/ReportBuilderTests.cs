using System.Text.Json;
using Microsoft.Data.Sqlite;
using RpcShield.Hosting.Cli;
using RpcShield.Journal;
using RpcShield.Journal.Reporting;

namespace RpcShield.Tests.Journal.Reporting;

/// <summary>A journal built row by row in the test; the report must give exactly the expected analysis.</summary>
public sealed class ReportBuilderTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 8, 12, 0, 0, TimeSpan.Zero);
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"rpcshield-report-{Guid.NewGuid():N}.db");

    public ReportBuilderTests()
    {
        var database = new JournalDatabase(_path);
        database.Initialize();
        using var connection = database.Open();
        var t = Now.AddHours(-1);
        var entries = new List<JournalEntry>();
        JournalEntry Outcome(string outcome, double profit, double? latency) => new() { Kind = JournalKinds.Outcome, Timestamp = t, Chain = "main", Strategy = "arb", HeadBlock = 100, Outcome = outcome, ExpectedProfit = profit, LatencyMs = latency };
        for (var i = 0; i < 60; i++)
        {
            entries.Add(Outcome("succeeded", 0.1, 10 + i));
        }

        for (var i = 0; i < 20; i++)
        {
            entries.Add(Outcome("lost_to_competitor", 0.5, 100 + i));
        }

        for (var i = 0; i < 10; i++)
        {
            entries.Add(Outcome("rpc_failure", 0.2, null));
            entries.Add(Outcome("simulation_error", 0.3, null));
        }

        // Outside the 7-day window: must not count.
        entries.Add(Outcome("lost_to_competitor", 100, 1) with { Timestamp = Now.AddDays(-8) });

        entries.AddRange(Repeat(5, new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = t, Chain = "main", Upstream = "a", Reason = "timeout", LatencyMs = 3000 }));
        entries.AddRange(Repeat(3, new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = t, Chain = "main", Upstream = "a", Reason = "http_503" }));
        entries.AddRange(Repeat(2, new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = t, Chain = "main", Upstream = "b", Reason = "connection_refused" }));
        entries.AddRange(Repeat(2, new JournalEntry { Kind = JournalKinds.Failover, Timestamp = t, Chain = "main", Reason = "exhausted" }));
        entries.AddRange(Repeat(1, new JournalEntry { Kind = JournalKinds.Failover, Timestamp = t, Chain = "main", Upstream = "b", Reason = "recovered" }));
        entries.AddRange(Repeat(4, new JournalEntry { Kind = JournalKinds.Builder, Timestamp = t, Chain = "main", Builder = "titan", Reason = "timeout", Outcome = "timeout" }));
        entries.AddRange(Repeat(1, new JournalEntry { Kind = JournalKinds.Builder, Timestamp = t, Chain = "main", Builder = "flashbots", Reason = "http_500", Outcome = "error" }));
        entries.AddRange(Repeat(6, new JournalEntry { Kind = JournalKinds.Builder, Timestamp = t, Chain = "main", Builder = "flashbots", Reason = "ok", Outcome = "ok" }));
        entries.AddRange(Repeat(3, new JournalEntry { Kind = JournalKinds.Bundle, Timestamp = t, Chain = "main", Builder = "flashbots", Outcome = "included" }));
        entries.AddRange(Repeat(1, new JournalEntry { Kind = JournalKinds.Bundle, Timestamp = t, Chain = "main", Builder = "flashbots", Outcome = "not_included" }));
        entries.AddRange(Repeat(1, new JournalEntry { Kind = JournalKinds.Bundle, Timestamp = t, Chain = "main", Builder = "titan", Outcome = "included" }));
        entries.AddRange(Repeat(3, new JournalEntry { Kind = JournalKinds.Bundle, Timestamp = t, Chain = "main", Builder = "titan", Outcome = "not_included" }));
        JournalRows.InsertAll(connection, entries);

        // Upstream samples: main/a healthy 9 of 10, main/b 8 of 10; edge/x .99, edge/y .95, edge/z .9.
        Samples(connection, "main", "a", 10, 9, okEach: 90, failedEach: 10, p50Base: 10);
        Samples(connection, "main", "b", 10, 8, okEach: 50, failedEach: 0, p50Base: 30);
        Samples(connection, "edge", "x", 100, 99, 1, 0, 5);
        Samples(connection, "edge", "y", 100, 95, 1, 0, 5);
        Samples(connection, "edge", "z", 100, 90, 1, 0, 5);
    }

    [Fact]
    public void The_report_gives_exactly_the_expected_breakdown()
    {
        var report = ReportBuilder.Build(_path, Now.AddDays(-7), Now);

        Assert.Equal(100, report.Outcomes.Total);
        Assert.Equal(
            [("succeeded", 60L, 60.0, 0.0), ("lost_to_competitor", 20L, 20.0, 10.0), ("rpc_failure", 10L, 10.0, 2.0), ("simulation_error", 10L, 10.0, 3.0), ("other", 0L, 0.0, 0.0)],
            report.Outcomes.Items.Select(i => (i.Outcome, i.Count, i.Percent, Math.Round(i.LostProfit, 9))).ToArray());
        Assert.Equal(15.0, report.Outcomes.TotalLostProfit, 9);

        // Ranked by expected profit lost: competitors (10) > simulation (3) > RPC (2).
        Assert.Equal(["lost_to_competitor", "simulation_error", "rpc_failure"], report.FixFirst.Select(f => f.Cause).ToArray());
        Assert.Equal([1, 2, 3], report.FixFirst.Select(f => f.Rank).ToArray());
        Assert.Contains("p88", report.FixFirst[0].Advice, StringComparison.Ordinal);
        Assert.Contains("a fails most (8x, mostly timeout)", report.FixFirst[2].Advice, StringComparison.Ordinal);

        var a = report.UpstreamFailures[0];
        Assert.Equal(("main", "a", 8L), (a.Chain, a.Name, a.Failures));
        Assert.Equal([new ReasonCount("timeout", 5), new ReasonCount("http_503", 3)], a.TopReasons);
        Assert.Equal(("b", 2L), (report.UpstreamFailures[1].Name, report.UpstreamFailures[1].Failures));
        Assert.Equal(2, report.UpstreamFailures.Count);
        Assert.Equal(2, report.UnrecoveredRequests);

        Assert.Equal([("titan", 4L, "timeout"), ("flashbots", 1L, "http_500")], report.BuilderFailures.Select(b => (b.Name, b.Failures, b.TopReasons[0].Reason)).ToArray());
        Assert.Equal([("flashbots", 3L, 4L, 0.75), ("titan", 1L, 4L, 0.25)], report.BuilderInclusion.Select(b => (b.Builder, b.Included, b.Total, b.Rate)).ToArray());

        // 80 outcome latencies (60 wins at 10..69 ms, 20 losses at 100..119 ms): losses rank p76.25..p100, median p88.1.
        Assert.Equal(20, report.LostRaces.Lost);
        Assert.Equal(20, report.LostRaces.WithLatency);
        Assert.Equal(88.1, report.LostRaces.ClusterPercentile);
        Assert.Equal(81.3, report.LostRaces.LowPercentile);
        Assert.Equal(93.8, report.LostRaces.HighPercentile);
        Assert.Equal(109.5, report.LostRaces.MedianLatencyMs);

        var latencyA = report.Latency.Single(l => l.Upstream == "a");
        Assert.Equal((10L, 14.5, 29.0, 49.0, 58.0), (latencyA.Samples, latencyA.P50Ms!.Value, latencyA.P90Ms!.Value, latencyA.P99Ms!.Value, latencyA.WorstP99Ms!.Value));

        var main = report.Availability.Single(c => c.Chain == "main");
        Assert.Equal([("a", 0.9, 0.9), ("b", 0.8, 1.0)], main.Upstreams.Select(u => (u.Upstream, u.Availability, u.SuccessRatio!.Value)).ToArray());
        Assert.Equal(0.98, main.Combined, 9);
        // Not reached with two; upstreams like the median one (0.85) need ceil(ln 0.001 / ln 0.15) = 4.
        Assert.Equal((4, true), (main.MinUpstreamsFor999, main.Extrapolated));

        var edge = report.Availability.Single(c => c.Chain == "edge");
        Assert.Equal(0.99995, edge.Combined, 9);
        Assert.Equal((2, false), (edge.MinUpstreamsFor999, edge.Extrapolated));
    }

    [Fact]
    public void The_text_report_reads_like_the_weekly_analysis()
    {
        var text = ReportTextRenderer.Render(ReportBuilder.Build(_path, Now.AddDays(-7), Now));
        Assert.Contains("60 succeeded / 20 lost to competitors / 10 RPC / 10 simulation", text, StringComparison.Ordinal);
        Assert.Contains("1. lost_to_competitor: 20 lost, 10 expected profit.", text, StringComparison.Ordinal);
        Assert.Contains("main: 2 upstream(s) together give 98 %; 99.9 %: about 4 upstreams like the median one would (extrapolated)", text, StringComparison.Ordinal);
        Assert.Contains("lost races cluster at p88", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cli_verb_prints_json_for_tools_and_rejects_bad_options()
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        Assert.Equal(0, ReportCommand.Run(new CommandLine(["report", "--journal", _path, "--since", "7d", "--format", "json"]), output, errors, time));
        using var json = JsonDocument.Parse(output.ToString());
        Assert.Equal(100, json.RootElement.GetProperty("outcomes").GetProperty("total").GetInt64());
        Assert.Equal("lost_to_competitor", json.RootElement.GetProperty("fix_first")[0].GetProperty("cause").GetString());
        Assert.Equal(4, json.RootElement.GetProperty("availability").EnumerateArray().Single(c => c.GetProperty("chain").GetString() == "main").GetProperty("min_upstreams_for_999").GetInt32());

        Assert.Equal(2, ReportCommand.Run(new CommandLine(["report", "--journal", _path, "--since", "soon"]), output, errors, time));
        Assert.Contains("--since", errors.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, ReportCommand.Run(new CommandLine(["report", "--journal", _path, "--format", "xml"]), output, errors, time));
        var missing = Assert.Throws<JournalUnavailableException>(() => ReportCommand.Run(new CommandLine(["report", "--journal", _path + ".missing"]), output, errors, time));
        Assert.Contains("no such file", missing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 0.9 }, 3, true)]
    [InlineData(new[] { 0.999 }, 1, false)]
    [InlineData(new[] { 0.9, 0.9, 0.9 }, 3, false)]
    [InlineData(new[] { 0.5, 0.5 }, 10, true)]
    [InlineData(new[] { 0.0 }, null, true)]
    public void Minimum_upstreams_for_three_nines(double[] availabilities, int? expected, bool extrapolated) =>
        Assert.Equal((expected, extrapolated), ReportBuilder.MinUpstreams(availabilities));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(_path + suffix);
        }
    }

    private static IEnumerable<JournalEntry> Repeat(int count, JournalEntry entry) => Enumerable.Repeat(entry, count);

    private static void Samples(SqliteConnection connection, string chain, string upstream, int count, int healthy, int okEach, int failedEach, double p50Base)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO upstream_samples (ts_ms, chain, upstream, healthy, ok, failed, ewma_ms, p50_ms, p90_ms, p99_ms) VALUES ($ts, $c, $u, $h, $ok, $f, $e, $p50, $p90, $p99)";
        for (var i = 0; i < count; i++)
        {
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$ts", Now.AddMinutes(-i - 1).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$c", chain);
            command.Parameters.AddWithValue("$u", upstream);
            command.Parameters.AddWithValue("$h", i < healthy ? 1 : 0);
            command.Parameters.AddWithValue("$ok", okEach);
            command.Parameters.AddWithValue("$f", failedEach);
            command.Parameters.AddWithValue("$e", p50Base + i);
            command.Parameters.AddWithValue("$p50", p50Base + i);
            command.Parameters.AddWithValue("$p90", (2 * p50Base) + (2 * i));
            command.Parameters.AddWithValue("$p99", (4 * p50Base) + (2 * i));
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
