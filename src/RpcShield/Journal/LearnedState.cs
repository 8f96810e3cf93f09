using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Upstreams.Health;
using RpcShield.Upstreams;

namespace RpcShield.Journal;

/// <summary>What a previous run learned about one upstream.</summary>
internal sealed record UpstreamPrior(string Chain, string Upstream, double EwmaMs, double? P50Ms, double? P90Ms, double ErrorRatio, long OkTotal, long FailedTotal, DateTimeOffset Updated);

/// <summary>What a previous run learned about one builder (from `bundle` journal entries).</summary>
internal sealed record BuilderPrior(string Chain, string Builder, long Included, long Total)
{
    public double InclusionRate => Total == 0 ? 0 : (double)Included / Total;
}

/// <summary>
/// Learning across restarts. Persists per-upstream latency (peak EWMA, p50/p90/p99), success and
/// failure counts and health as samples and priors, and builder inclusion rates; at start it
/// loads the priors and seeds each upstream's latency tracker so a restarted proxy ranks from
/// experience instead of a cold default. Other capabilities read <see cref="Builder"/>.
/// </summary>
internal sealed partial class LearnedState
{
    private readonly ChainRegistry _chains;
    private readonly TimeProvider _time;
    private readonly ILogger<LearnedState> _logger;
    private readonly ConcurrentDictionary<(string, string), UpstreamPrior> _upstreams = new();
    private readonly ConcurrentDictionary<(string, string), BuilderPrior> _builders = new();
    private readonly Dictionary<Upstream, (double Ok, double Failed)> _lastCounts = [];
    private readonly Lock _lock = new();

    public LearnedState(ChainRegistry chains, TimeProvider time, ILogger<LearnedState> logger)
    {
        _chains = chains;
        _time = time;
        _logger = logger;
        // Upstreams added by a hot reload start from their prior too (Seed never overrides live data).
        _chains.Reloaded += () => Seed();
    }

    /// <summary>The prior loaded at start (or last persisted) for an upstream.</summary>
    public UpstreamPrior? Upstream(string chain, string upstream) => _upstreams.TryGetValue((chain, upstream), out var prior) ? prior : null;

    /// <summary>Builder inclusion prior (loaded at start, refreshed on every persist).</summary>
    public BuilderPrior? Builder(string chain, string builder) => _builders.TryGetValue((chain, builder), out var prior) ? prior : null;

    public IReadOnlyCollection<BuilderPrior> Builders => _builders.Values.ToArray();

    /// <summary>Reads priors and seeds the latency trackers of matching upstreams.</summary>
    public void Load(DbConnection connection)
    {
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT chain, upstream, ewma_ms, p50_ms, p90_ms, error_ratio, ok_total, failed_total, updated_ms FROM upstream_priors";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var prior = new UpstreamPrior(
                    reader.GetString(0), reader.GetString(1), reader.GetDouble(2),
                    reader.IsDBNull(3) ? null : reader.GetDouble(3), reader.IsDBNull(4) ? null : reader.GetDouble(4),
                    reader.GetDouble(5), reader.GetInt64(6), reader.GetInt64(7), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)));
                _upstreams[(prior.Chain, prior.Upstream)] = prior;
            }
        }

        LoadBuilders(connection);
        var seeded = Seed();
        if (seeded > 0 || !_builders.IsEmpty)
        {
            LogLoaded(seeded, _builders.Count);
        }
    }

    private int Seed()
    {
        var seeded = 0;
        foreach (var chain in _chains.Chains)
        {
            foreach (var upstream in chain.Upstreams)
            {
                if (_upstreams.TryGetValue((chain.Name, upstream.Name), out var prior))
                {
                    upstream.Latency.Seed(prior.EwmaMs);
                    seeded++;
                }
            }
        }

        return seeded;
    }

    /// <summary>Writes one sample per upstream (carrying <paramref name="instance"/>), upserts the priors and recomputes builder inclusion.</summary>
    public void Persist(DbConnection connection, string? instance = null)
    {
        var now = _time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction();
            using var sample = connection.CreateCommand();
            sample.Transaction = transaction;
            sample.CommandText = """
                INSERT INTO upstream_samples (ts_ms, chain, upstream, healthy, ok, failed, ewma_ms, p50_ms, p90_ms, p99_ms, instance)
                VALUES (@ts, @chain, @upstream, @healthy, @ok, @failed, @ewma, @p50, @p90, @p99, @instance);
                """;
            using var prior = connection.CreateCommand();
            prior.Transaction = transaction;
            prior.CommandText = """
                INSERT INTO upstream_priors (chain, upstream, ewma_ms, p50_ms, p90_ms, error_ratio, ok_total, failed_total, updated_ms)
                VALUES (@chain, @upstream, @ewma, @p50, @p90, @ratio, @ok, @failed, @ts)
                ON CONFLICT (chain, upstream) DO UPDATE SET ewma_ms = excluded.ewma_ms, p50_ms = excluded.p50_ms, p90_ms = excluded.p90_ms,
                    error_ratio = excluded.error_ratio, ok_total = excluded.ok_total, failed_total = excluded.failed_total, updated_ms = excluded.updated_ms;
                """;
            foreach (var chain in _chains.Chains)
            {
                foreach (var upstream in chain.Upstreams)
                {
                    var m = upstream.Metrics;
                    var okNow = m.Ok.Value;
                    var failedNow = m.Error.Value + m.Timeout.Value;
                    _lastCounts.TryGetValue(upstream, out var last);
                    var okDelta = (long)Math.Max(0, okNow - last.Ok);
                    var failedDelta = (long)Math.Max(0, failedNow - last.Failed);
                    _lastCounts[upstream] = (okNow, failedNow);
                    var p50 = upstream.Latency.Quantile(0.5);
                    var p90 = upstream.Latency.Quantile(0.9);
                    var p99 = upstream.Latency.Quantile(0.99);
                    var ewma = upstream.Latency.PeakEwmaMs;

                    sample.Parameters.Clear();
                    JournalRows.Add(sample, "@ts", nowMs);
                    JournalRows.Add(sample, "@chain", chain.Name);
                    JournalRows.Add(sample, "@upstream", upstream.Name);
                    JournalRows.Add(sample, "@healthy", upstream.Health.Status == HealthStatus.Healthy ? 1 : 0);
                    JournalRows.Add(sample, "@ok", okDelta);
                    JournalRows.Add(sample, "@failed", failedDelta);
                    JournalRows.Add(sample, "@ewma", ewma);
                    JournalRows.Add(sample, "@p50", p50);
                    JournalRows.Add(sample, "@p90", p90);
                    JournalRows.Add(sample, "@p99", p99);
                    JournalRows.Add(sample, "@instance", JournalRows.Text(instance, JournalLimits.Name));
                    sample.ExecuteNonQuery();

                    var previous = Upstream(chain.Name, upstream.Name);
                    var okTotal = (previous?.OkTotal ?? 0) + okDelta;
                    var failedTotal = (previous?.FailedTotal ?? 0) + failedDelta;
                    var ratio = okTotal + failedTotal == 0 ? 0 : (double)failedTotal / (okTotal + failedTotal);
                    var next = new UpstreamPrior(chain.Name, upstream.Name, ewma, p50 ?? previous?.P50Ms, p90 ?? previous?.P90Ms, ratio, okTotal, failedTotal, now);
                    _upstreams[(chain.Name, upstream.Name)] = next;

                    prior.Parameters.Clear();
                    JournalRows.Add(prior, "@chain", chain.Name);
                    JournalRows.Add(prior, "@upstream", upstream.Name);
                    JournalRows.Add(prior, "@ewma", ewma);
                    JournalRows.Add(prior, "@p50", next.P50Ms);
                    JournalRows.Add(prior, "@p90", next.P90Ms);
                    JournalRows.Add(prior, "@ratio", ratio);
                    JournalRows.Add(prior, "@ok", okTotal);
                    JournalRows.Add(prior, "@failed", failedTotal);
                    JournalRows.Add(prior, "@ts", nowMs);
                    prior.ExecuteNonQuery();
                }
            }

            using (var builders = connection.CreateCommand())
            {
                builders.Transaction = transaction;
                builders.CommandText = """
                    INSERT INTO builder_priors (chain, builder, included, total, updated_ms)
                    SELECT COALESCE(chain, ''), builder, SUM(CASE WHEN outcome = 'included' THEN 1 ELSE 0 END), COUNT(*), @ts
                    FROM journal WHERE kind = 'bundle' AND builder IS NOT NULL GROUP BY COALESCE(chain, ''), builder
                    ON CONFLICT (chain, builder) DO UPDATE SET included = excluded.included, total = excluded.total, updated_ms = excluded.updated_ms;
                    """;
                JournalRows.Add(builders, "@ts", nowMs);
                builders.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        LoadBuilders(connection);
    }

    private void LoadBuilders(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT chain, builder, included, total FROM builder_priors";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var prior = new BuilderPrior(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3));
            _builders[(prior.Chain, prior.Builder)] = prior;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded learned priors: {Upstreams} upstream(s) seeded, {Builders} builder inclusion rate(s)")]
    private partial void LogLoaded(int upstreams, int builders);
}
