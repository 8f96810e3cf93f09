using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

/// <summary>
/// Drains <see cref="SqliteFailureJournal"/> into SQLite in batched transactions, keeps the file
/// under `journal.max_bytes` (<see cref="JournalSizeLimit"/>), enforces retention (at start and
/// hourly) and persists learned statistics (every `journal.stats_interval` and at shutdown).
/// Opens and checks the file before any other hosted service starts, so a corrupt or locked
/// journal stops the start with a clear message; a full or failing disk only takes the journal
/// down (<see cref="JournalAvailability"/>): RPC keeps serving and writing resumes when it can.
/// </summary>
internal sealed partial class JournalWriter : BackgroundService, IHostedLifecycleService
{
    private const int MaxBatch = 512;
    private static readonly TimeSpan RetentionInterval = TimeSpan.FromHours(1);

    private readonly SqliteFailureJournal _journal;
    private readonly JournalDatabase _database;
    private readonly ConfigStore _config;
    private readonly LearnedState _learned;
    private readonly RpcShieldMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<JournalWriter> _logger;
    private readonly Dictionary<string, Prometheus.Counter.Child> _written = new(StringComparer.Ordinal);
    private long _lastRetention;
    private SqliteConnection? _connection;
    private SqliteCommand? _insert;
    // One writer connection, used by the drain loop, maintenance and shutdown in turn.
    private readonly Lock _writeLock = new();

    internal JournalWriter(SqliteFailureJournal journal, JournalDatabase database, ConfigStore config, LearnedState learned, RpcShieldMetrics metrics, TimeProvider time, ILogger<JournalWriter> logger, LogLimiter limiter)
    {
        _journal = journal;
        _database = database;
        _config = config;
        _learned = learned;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        Availability = new JournalAvailability(database.Path, time, limiter, logger);
        config.ReloadAttempted += result => _journal.Record(new JournalEntry { Kind = JournalKinds.ConfigReload, Timestamp = _time.GetUtcNow(), Reason = result });
    }

    /// <summary>Up, or down with a reason (shown by `/status` and `/readyz`).</summary>
    public JournalAvailability Availability { get; }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        try
        {
            _database.Initialize();
            using var connection = _database.Open();
            EnforceRetention(connection);
            _learned.Load(connection);
            LogOpened(_database.Path, _config.Current.Journal.RetentionDays);
        }
        catch (JournalUnavailableException ex) when (!ex.RefusesStart)
        {
            Availability.Down(ex.Reason);
        }
        catch (SqliteException ex) when ((ex.SqliteErrorCode & 0xff) is not (5 or 6 or 11 or 26))
        {
            Availability.Down(JournalDatabase.Describe(ex));
        }

        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _journal.Complete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // The drain loop may never have run (stopped right after start): write what is queued.
        Drain(new List<JournalEntry>(MaxBatch));
        lock (_writeLock)
        {
            if (EnsureOpen())
            {
                try
                {
                    _learned.Persist(_connection!);
                }
                catch (SqliteException ex)
                {
                    Availability.Down(JournalDatabase.Describe(ex));
                }
            }

            Close();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var maintenance = MaintenanceLoopAsync(stoppingToken);
        var batch = new List<JournalEntry>(MaxBatch);
        var reader = _journal.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                Drain(batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await maintenance.ConfigureAwait(false);
    }

    /// <summary>Writes everything queued; while the journal is down (and not due for a retry) entries are dropped and counted.</summary>
    private void Drain(List<JournalEntry> batch)
    {
        var reader = _journal.Reader;
        lock (_writeLock)
        {
            while (true)
            {
                batch.Clear();
                while (batch.Count < MaxBatch && reader.TryRead(out var entry))
                {
                    batch.Add(entry);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                if (!TryWrite(batch))
                {
                    _metrics.JournalDropped.Inc(batch.Count);
                    Availability.Dropped(batch.Count);
                }
            }
        }
    }

    private bool TryWrite(List<JournalEntry> batch)
    {
        if (!EnsureOpen())
        {
            return false;
        }

        try
        {
            WriteBatch(_connection!, _insert!, batch);
            JournalSizeLimit.Enforce(_connection!, _config.Current.Journal.MaxBytes, _logger);
            Availability.Up();
            return true;
        }
        catch (SqliteException ex)
        {
            // The file went bad while running (disk full, I/O error): reopen on the next try.
            Close();
            Availability.Down(JournalDatabase.Describe(ex));
            return false;
        }
    }

    /// <summary>The writer's connection, (re)opened when the journal is up or due for a retry.</summary>
    private bool EnsureOpen()
    {
        if (_connection is not null)
        {
            return true;
        }

        if (!Availability.RetryDue)
        {
            return false;
        }

        try
        {
            _database.Initialize();
            _connection = _database.Open();
            _insert = JournalRows.PrepareInsert(_connection);
            return true;
        }
        catch (Exception ex) when (ex is SqliteException or JournalUnavailableException)
        {
            Close();
            Availability.Down(JournalDatabase.Describe(ex));
            return false;
        }
    }

    private void Close()
    {
        _insert?.Dispose();
        _connection?.Dispose();
        _insert = null;
        _connection = null;
    }

    private void WriteBatch(SqliteConnection connection, SqliteCommand insert, List<JournalEntry> batch)
    {
        using var transaction = connection.BeginTransaction();
        insert.Transaction = transaction;
        foreach (var entry in batch)
        {
            JournalRows.Bind(insert, entry);
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        foreach (var entry in batch)
        {
            if (!_written.TryGetValue(entry.Kind, out var counter))
            {
                counter = _metrics.JournalEntries.WithLabels(entry.Kind);
                _written[entry.Kind] = counter;
            }

            counter.Inc();
        }
    }

    private async Task MaintenanceLoopAsync(CancellationToken stoppingToken)
    {
        var interval = _config.Current.Journal.StatsInterval;
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                RunMaintenance();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One maintenance pass: persist learned statistics; enforce retention when due. Also how a
    /// down journal with nothing to write finds out it can be written again.
    /// </summary>
    internal void RunMaintenance()
    {
        lock (_writeLock)
        {
            if (!EnsureOpen())
            {
                return;
            }

            try
            {
                _learned.Persist(_connection!);
                if (_time.GetElapsedTime(Interlocked.Read(ref _lastRetention)) >= RetentionInterval)
                {
                    EnforceRetention(_connection!);
                }

                Availability.Up();
            }
            catch (SqliteException ex)
            {
                Close();
                Availability.Down(JournalDatabase.Describe(ex));
            }
        }
    }

    /// <summary>Deletes journal rows and samples older than `journal.retention_days`.</summary>
    internal int EnforceRetention(SqliteConnection connection)
    {
        Interlocked.Exchange(ref _lastRetention, _time.GetTimestamp());
        var cutoff = (_time.GetUtcNow() - TimeSpan.FromDays(_config.Current.Journal.RetentionDays)).ToUnixTimeMilliseconds();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM journal WHERE ts_ms < $cutoff; DELETE FROM upstream_samples WHERE ts_ms < $cutoff;";
        command.Parameters.AddWithValue("$cutoff", cutoff);
        var deleted = command.ExecuteNonQuery();
        if (deleted > 0)
        {
            LogRetention(deleted, _config.Current.Journal.RetentionDays);
        }

        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Failure journal at {Path} (retention {Days} days)")]
    private partial void LogOpened(string path, int days);

    [LoggerMessage(Level = LogLevel.Information, Message = "Journal retention deleted {Rows} rows older than {Days} days")]
    private partial void LogRetention(int rows, int days);

}

/// <summary>Row mapping of <see cref="JournalEntry"/> (shared by the writer and fixtures).</summary>
internal static class JournalRows
{
    public static SqliteCommand PrepareInsert(SqliteConnection connection)
    {
        var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO journal (ts_ms, kind, chain, strategy, head_block, method, reason, latency_ms, upstream, builder,
                                 bundle_hash, tx_hash, competitor_tx, expected_profit, outcome, note)
            VALUES ($ts, $kind, $chain, $strategy, $head, $method, $reason, $latency, $upstream, $builder,
                    $bundle, $tx, $competitor, $profit, $outcome, $note);
            """;
        foreach (var name in (string[])["$ts", "$kind", "$chain", "$strategy", "$head", "$method", "$reason", "$latency", "$upstream", "$builder", "$bundle", "$tx", "$competitor", "$profit", "$outcome", "$note"])
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    public static void Bind(SqliteCommand insert, JournalEntry entry)
    {
        var p = insert.Parameters;
        p[0].Value = entry.Timestamp.ToUnixTimeMilliseconds();
        p[1].Value = Text(entry.Kind, JournalLimits.Label);
        p[2].Value = Text(entry.Chain, JournalLimits.Name);
        p[3].Value = Text(entry.Strategy, JournalLimits.Strategy);
        p[4].Value = (object?)entry.HeadBlock ?? DBNull.Value;
        p[5].Value = entry.Method is null ? DBNull.Value : JsonRpc.KnownMethods.Label(entry.Method);
        p[6].Value = Text(entry.Reason, JournalLimits.Reason);
        p[7].Value = (object?)entry.LatencyMs ?? DBNull.Value;
        p[8].Value = Text(entry.Upstream, JournalLimits.Name);
        p[9].Value = Text(entry.Builder, JournalLimits.Name);
        p[10].Value = Text(entry.BundleHash, JournalLimits.Hash);
        p[11].Value = Text(entry.TxHash, JournalLimits.Hash);
        p[12].Value = Text(entry.CompetitorTx, JournalLimits.Hash);
        p[13].Value = (object?)entry.ExpectedProfit ?? DBNull.Value;
        p[14].Value = Text(entry.Outcome, JournalLimits.Label);
        p[15].Value = Text(entry.Note, JournalLimits.Note);
    }

    private static object Text(string? value, int max) => (object?)JournalLimits.Clip(value, max) ?? DBNull.Value;

    /// <summary>Inserts entries in one transaction (fixtures, imports).</summary>
    public static void InsertAll(SqliteConnection connection, IEnumerable<JournalEntry> entries)
    {
        using var transaction = connection.BeginTransaction();
        using var insert = PrepareInsert(connection);
        insert.Transaction = transaction;
        foreach (var entry in entries)
        {
            Bind(insert, entry);
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}

/// <summary>The `kind` values RpcShield writes (bounded: also the `rpcshield_journal_entries_total` label).</summary>
internal static class JournalKinds
{
    public const string FailedAttempt = "failed_attempt";
    public const string Failover = "failover";
    public const string Hedge = "hedge";
    public const string Broadcast = "broadcast";
    public const string Builder = "builder";
    public const string Bundle = "bundle";
    public const string ModeChange = "mode_change";
    public const string Chaos = "chaos";
    public const string ConfigReload = "config_reload";
    public const string Outcome = "outcome";
    public const string Reorg = "reorg";
    public const string Disagreement = "disagreement";
    /// <summary>A bundle's status changed (`rpcshield_getBundleStatus`: state, reason, builders; restored at start).</summary>
    public const string BundleStatus = "bundle_status";
}
