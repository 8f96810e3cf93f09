using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using RpcShield.Journal;

namespace RpcShield.Journal.Reporting;

/// <summary>Builds <see cref="FailureReport"/> from a journal database (read-only).</summary>
internal static class ReportBuilder
{
    public const double Target = 0.999;
    private const int TopReasons = 5;

    private static readonly string[] Causes = ["lost_to_competitor", "rpc_failure", "simulation_error", "other"];

    public static FailureReport Build(string journalPath, DateTimeOffset since, DateTimeOffset until)
    {
        var database = new JournalDatabase(journalPath);
        database.EnsureReadable();
        try
        {
            using var connection = database.Open(readOnly: true);
            return Build(connection, database.Path, since, until);
        }
        catch (SqliteException ex)
        {
            throw new JournalUnavailableException(database.Path, $"cannot read ({ex.Message})", ex);
        }
    }

    /// <summary>A PostgreSQL journal shared by a fleet (`--postgres`, or `journal.postgres` of `--config`).</summary>
    public static FailureReport Build(PostgresJournalDatabase database, DateTimeOffset since, DateTimeOffset until)
    {
        try
        {
            using var connection = database.Open(readOnly: true);
            if (JournalDatabase.Scalar(connection, "SELECT to_regclass('rpcshield_schema') IS NOT NULL") is not true)
            {
                throw new JournalUnavailableException(database.Name, "not an RpcShield journal (no schema: has an instance with journal.postgres run against it?)");
            }

            return Build(connection, database.Name, since, until);
        }
        catch (Exception ex) when (database.IsStoreError(ex))
        {
            throw new JournalUnavailableException(database.Name, $"cannot read ({JournalDatabase.Describe(ex)})", ex);
        }
    }

    internal static FailureReport Build(DbConnection connection, string path, DateTimeOffset since, DateTimeOffset until)
    {
        var from = since.ToUnixTimeMilliseconds();
        var to = until.ToUnixTimeMilliseconds();
        var entries = Convert.ToInt64(Scalar(connection, "SELECT COUNT(*) FROM journal WHERE ts_ms >= @from AND ts_ms <= @to", from, to), CultureInfo.InvariantCulture);

        var outcomes = Outcomes(connection, from, to);
        var upstreamFailures = Reasons(connection, "failed_attempt", "upstream", from, to);
        var builderFailures = Reasons(connection, "builder", "builder", from, to);
        var unrecovered = Convert.ToInt64(Scalar(connection, "SELECT COUNT(*) FROM journal WHERE kind = 'failover' AND reason = 'exhausted' AND ts_ms >= @from AND ts_ms <= @to", from, to), CultureInfo.InvariantCulture);
        var latency = Latency(connection, from, to);
        var lostRaces = LostRaces(connection, from, to);
        var inclusion = Inclusion(connection, from, to);
        var availability = Availability(connection, from, to);
        var fix = FixFirst(outcomes, upstreamFailures, lostRaces, availability);
        var instances = Instances(connection, from, to);
        return new FailureReport(path, since, until, entries, outcomes, fix, upstreamFailures, builderFailures, unrecovered, latency, lostRaces, inclusion, availability, instances, BundleReasons(connection, from, to));
    }

    /// <summary>The latest status of each bundle and target block; misses ranked by reason (cancelled ones are not misses).</summary>
    private static BundleReasonBreakdown BundleReasons(DbConnection connection, long from, long to)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long judged = 0, included = 0;
        using (var command = Command(connection, """
            SELECT j.outcome, j.reason FROM journal j
            JOIN (SELECT MAX(id) AS id FROM journal WHERE kind = 'bundle_status' AND ts_ms >= @from AND ts_ms <= @to
                  GROUP BY chain, bundle_hash, head_block) latest ON latest.id = j.id
            WHERE j.outcome IS NOT NULL AND j.outcome NOT IN ('pending', 'cancelled')
            """, from, to))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                judged++;
                if (reader.GetString(0) == Features.BundleStatus.BundleReasons.Included)
                {
                    included++;
                    continue;
                }

                var reason = reader.IsDBNull(1) ? Features.BundleStatus.BundleReasons.Unknown : reader.GetString(1);
                counts[reason] = counts.GetValueOrDefault(reason) + 1;
            }
        }

        var missed = judged - included;
        var reasons = counts
            .OrderByDescending(c => c.Value).ThenBy(c => Array.IndexOf(Features.BundleStatus.BundleReasons.All, c.Key))
            .Select(c => new BundleReasonShare(c.Key, c.Value, Math.Round(100.0 * c.Value / missed, 1), Features.BundleStatus.BundleReasons.Advice(c.Key)))
            .ToList();
        var first = reasons.FirstOrDefault();
        var line = first is null ? null : string.Create(CultureInfo.InvariantCulture, $"{first.Percent:0.#} % of your misses were {first.Reason}: {first.Advice}");
        return new BundleReasonBreakdown(judged, included, missed, reasons, line);
    }

    private static OutcomeBreakdown Outcomes(DbConnection connection, long from, long to)
    {
        var counts = new Dictionary<string, (long Count, double Lost)>(StringComparer.Ordinal);
        using (var command = Command(connection, """
            SELECT outcome, COUNT(*), SUM(CASE WHEN outcome = 'succeeded' THEN 0 ELSE COALESCE(expected_profit, 0) END)
            FROM journal WHERE kind = 'outcome' AND outcome IS NOT NULL AND ts_ms >= @from AND ts_ms <= @to GROUP BY outcome
            """, from, to))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                counts[reader.GetString(0)] = (reader.GetInt64(1), reader.IsDBNull(2) ? 0 : reader.GetDouble(2));
            }
        }

        var total = counts.Values.Sum(c => c.Count);
        var items = new List<OutcomeCount>();
        foreach (var outcome in global::RpcShield.Features.Outcomes.OutcomeReport.Outcomes)
        {
            counts.TryGetValue(outcome, out var c);
            items.Add(new OutcomeCount(outcome, c.Count, total == 0 ? 0 : Math.Round(100.0 * c.Count / total, 1), Math.Round(c.Lost, 9)));
        }

        return new OutcomeBreakdown(total, Math.Round(items.Sum(i => i.LostProfit), 9), items);
    }

    /// <summary>
    /// Per instance (`journal.instance`) of a fleet sharing the journal: entries, failures and the
    /// upstreams failing there. Empty for a journal written before rows carried the instance.
    /// </summary>
    private static List<InstanceBreakdown> Instances(DbConnection connection, long from, long to)
    {
        var rows = new List<(string Instance, long Entries, long Builders, long Unrecovered)>();
        try
        {
            using var command = Command(connection, """
                SELECT instance, COUNT(*),
                       SUM(CASE WHEN kind = 'builder' AND builder IS NOT NULL AND COALESCE(outcome, '') NOT IN ('ok', 'succeeded', 'included') THEN 1 ELSE 0 END),
                       SUM(CASE WHEN kind = 'failover' AND reason = 'exhausted' THEN 1 ELSE 0 END)
                FROM journal WHERE instance IS NOT NULL AND ts_ms >= @from AND ts_ms <= @to GROUP BY instance
                """, from, to);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
            }
        }
        catch (SqliteException)
        {
            // A file at schema version 1 has no instance column (the report opens it read-only: no migration).
            return [];
        }

        return rows
            .Select(r =>
            {
                var upstreams = Reasons(connection, "failed_attempt", "upstream", from, to, r.Instance);
                return new InstanceBreakdown(r.Instance, r.Entries, upstreams.Sum(u => u.Failures), r.Builders, r.Unrecovered, upstreams);
            })
            .OrderByDescending(i => i.UpstreamFailures + i.BuilderFailures).ThenBy(i => i.Instance, StringComparer.Ordinal)
            .ToList();
    }

    private static List<FailureReasons> Reasons(DbConnection connection, string kind, string column, long from, long to, string? instance = null)
    {
        var rows = new Dictionary<(string Chain, string Name), List<ReasonCount>>();
        using (var command = Command(connection, $"""
            SELECT COALESCE(chain, ''), {column}, COALESCE(reason, 'unknown'), COUNT(*) FROM journal
            WHERE kind = '{kind}' AND {column} IS NOT NULL AND ts_ms >= @from AND ts_ms <= @to
              AND COALESCE(outcome, '') NOT IN ('ok', 'succeeded', 'included'){(instance is null ? "" : " AND instance = @instance")}
            GROUP BY 1, 2, 3
            """, from, to))
        {
            if (instance is not null)
            {
                JournalRows.Add(command, "@instance", instance);
            }

            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var key = (reader.GetString(0), reader.GetString(1));
                if (!rows.TryGetValue(key, out var list))
                {
                    rows[key] = list = [];
                }

                list.Add(new ReasonCount(reader.GetString(2), reader.GetInt64(3)));
            }
        }

        return rows
            .Select(r => new FailureReasons(r.Key.Chain, r.Key.Name, r.Value.Sum(x => x.Count),
                r.Value.OrderByDescending(x => x.Count).ThenBy(x => x.Reason, StringComparer.Ordinal).Take(TopReasons).ToList()))
            .OrderByDescending(r => r.Failures).ThenBy(r => r.Chain, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static List<UpstreamLatency> Latency(DbConnection connection, long from, long to)
    {
        var samples = new Dictionary<(string, string), (List<double> P50, List<double> P90, List<double> P99, long Count)>();
        using (var command = Command(connection, "SELECT chain, upstream, p50_ms, p90_ms, p99_ms FROM upstream_samples WHERE ts_ms >= @from AND ts_ms <= @to", from, to))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var key = (reader.GetString(0), reader.GetString(1));
                if (!samples.TryGetValue(key, out var s))
                {
                    s = ([], [], [], 0);
                }

                if (!reader.IsDBNull(2))
                {
                    s.P50.Add(reader.GetDouble(2));
                }

                if (!reader.IsDBNull(3))
                {
                    s.P90.Add(reader.GetDouble(3));
                }

                if (!reader.IsDBNull(4))
                {
                    s.P99.Add(reader.GetDouble(4));
                }

                samples[key] = (s.P50, s.P90, s.P99, s.Count + 1);
            }
        }

        return samples
            .Select(s => new UpstreamLatency(s.Key.Item1, s.Key.Item2, s.Value.Count, Median(s.Value.P50), Median(s.Value.P90), Median(s.Value.P99), s.Value.P99.Count == 0 ? null : s.Value.P99.Max()))
            .OrderBy(s => s.Chain, StringComparer.Ordinal).ThenBy(s => s.Upstream, StringComparer.Ordinal)
            .ToList();
    }

    private static LostRaceLatency LostRaces(DbConnection connection, long from, long to)
    {
        var all = new List<double>();
        var lost = new List<double>();
        long lostCount = 0;
        using (var command = Command(connection, "SELECT outcome, latency_ms FROM journal WHERE kind = 'outcome' AND ts_ms >= @from AND ts_ms <= @to", from, to))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var isLost = !reader.IsDBNull(0) && reader.GetString(0) == "lost_to_competitor";
                lostCount += isLost ? 1 : 0;
                if (reader.IsDBNull(1))
                {
                    continue;
                }

                var latency = reader.GetDouble(1);
                all.Add(latency);
                if (isLost)
                {
                    lost.Add(latency);
                }
            }
        }

        if (lost.Count == 0)
        {
            return new LostRaceLatency(lostCount, 0, null, null, null, null);
        }

        all.Sort();
        // Percentile rank: share of all reported latencies at or below this lost race's latency.
        var ranks = lost.Select(l => 100.0 * UpperBound(all, l) / all.Count).ToList();
        return new LostRaceLatency(lostCount, lost.Count, Round1(Median(ranks)!.Value), Round1(Quantile(ranks, 0.25)!.Value), Round1(Quantile(ranks, 0.75)!.Value), Median(lost));
    }

    private static List<BuilderInclusion> Inclusion(DbConnection connection, long from, long to)
    {
        var result = new List<BuilderInclusion>();
        using var command = Command(connection, """
            SELECT COALESCE(chain, ''), builder, SUM(CASE WHEN outcome = 'included' THEN 1 ELSE 0 END), COUNT(*)
            FROM journal WHERE kind = 'bundle' AND builder IS NOT NULL AND ts_ms >= @from AND ts_ms <= @to
            GROUP BY 1, 2 ORDER BY 1, 2
            """, from, to);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var included = reader.GetInt64(2);
            var total = reader.GetInt64(3);
            result.Add(new BuilderInclusion(reader.GetString(0), reader.GetString(1), included, total, total == 0 ? 0 : Math.Round((double)included / total, 4)));
        }

        return result.OrderByDescending(b => b.Rate).ThenBy(b => b.Builder, StringComparer.Ordinal).ToList();
    }

    private static List<ChainAvailability> Availability(DbConnection connection, long from, long to)
    {
        var perChain = new Dictionary<string, List<UpstreamAvailability>>(StringComparer.Ordinal);
        using (var command = Command(connection, """
            SELECT chain, upstream, COUNT(*), SUM(healthy), SUM(ok), SUM(failed) FROM upstream_samples
            WHERE ts_ms >= @from AND ts_ms <= @to GROUP BY chain, upstream ORDER BY chain, upstream
            """, from, to))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var samples = reader.GetInt64(2);
                var ok = reader.GetInt64(4);
                var failed = reader.GetInt64(5);
                var chain = reader.GetString(0);
                if (!perChain.TryGetValue(chain, out var list))
                {
                    perChain[chain] = list = [];
                }

                list.Add(new UpstreamAvailability(reader.GetString(1), samples, Math.Round((double)reader.GetInt64(3) / samples, 6), ok + failed == 0 ? null : Math.Round((double)ok / (ok + failed), 6)));
            }
        }

        return perChain.Select(c =>
        {
            var a = c.Value.Select(u => u.Availability).ToList();
            var (min, extrapolated) = MinUpstreams(a);
            return new ChainAvailability(c.Key, c.Value, Math.Round(Combined(a), 6), min, extrapolated);
        }).ToList();
    }

    /// <summary>1 − ∏(1 − aᵢ): the chance at least one of independent upstreams is up.</summary>
    public static double Combined(IEnumerable<double> availabilities) => 1 - availabilities.Aggregate(1.0, (down, a) => down * (1 - a));

    /// <summary>
    /// Fewest upstreams (best first) whose combined availability reaches 99.9 %; when the observed
    /// ones do not, extrapolated with more upstreams like the median one (null if that one is never up).
    /// </summary>
    public static (int? Count, bool Extrapolated) MinUpstreams(IReadOnlyList<double> availabilities)
    {
        var sorted = availabilities.OrderByDescending(a => a).ToList();
        var down = 1.0;
        for (var i = 0; i < sorted.Count; i++)
        {
            down *= 1 - sorted[i];
            if (1 - down >= Target - 1e-12)
            {
                return (i + 1, false);
            }
        }

        var median = Median(sorted);
        if (median is not > 0)
        {
            return (null, true);
        }

        var n = (int)Math.Ceiling(Math.Log(1 - Target) / Math.Log(1 - median.Value) - 1e-9);
        return (Math.Max(n, 1), true);
    }

    private static List<FixItem> FixFirst(OutcomeBreakdown outcomes, List<FailureReasons> upstreamFailures, LostRaceLatency lostRaces, List<ChainAvailability> availability)
    {
        var ranked = outcomes.Items
            .Where(i => i.Outcome != "succeeded" && i.Count > 0)
            .OrderByDescending(i => i.LostProfit).ThenByDescending(i => i.Count).ThenBy(i => Array.IndexOf(Causes, i.Outcome))
            .ToList();
        var list = new List<FixItem>();
        foreach (var item in ranked)
        {
            list.Add(new FixItem(list.Count + 1, item.Outcome, item.Count, item.LostProfit, Advice(item.Outcome, upstreamFailures, lostRaces, availability)));
        }

        return list;
    }

    private static string Advice(string cause, List<FailureReasons> upstreamFailures, LostRaceLatency lostRaces, List<ChainAvailability> availability) => cause switch
    {
        "lost_to_competitor" => lostRaces.ClusterPercentile is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"speed: lost races cluster at p{p:0} of your latency (p{lostRaces.LowPercentile:0}-p{lostRaces.HighPercentile:0}); cut tail latency (closer/faster upstream, hedging, more builders)")
            : "speed: report latencyMs with outcomes to see where lost races cluster; cut tail latency and submit to more builders",
        "rpc_failure" => upstreamFailures.FirstOrDefault() is { } worst
            ? $"reliability: {worst.Name} fails most ({worst.Failures}x, mostly {worst.TopReasons[0].Reason}); "
              + (availability.FirstOrDefault(a => a.Chain == worst.Chain) is { MinUpstreamsFor999: { } n } ? $"99.9 % needs {n} upstream(s) like these" : "add independent upstreams")
            : "reliability: add independent upstreams and check their health",
        "simulation_error" => "simulation: check state freshness (block lag) and the node your simulations run on",
        _ => "unclassified: add a note to these outcome reports to see their cause",
    };

    private static double Round1(double value) => Math.Round(value, 1, MidpointRounding.AwayFromZero);

    private static int UpperBound(List<double> sorted, double value)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    internal static double? Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.OrderBy(v => v).ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Nearest-rank quantile.</summary>
    internal static double? Quantile(IReadOnlyList<double> values, double q) =>
        Telemetry.Quantile.OfUnsorted([.. values], q);

    private static DbCommand Command(DbConnection connection, string sql, long from, long to)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        JournalRows.Add(command, "@from", from);
        JournalRows.Add(command, "@to", to);
        return command;
    }

    private static object? Scalar(DbConnection connection, string sql, long from, long to)
    {
        using var command = Command(connection, sql, from, to);
        return command.ExecuteScalar();
    }
}
