using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

/// <summary>
/// Drains <see cref="SqliteFailureJournal"/> into SQLite in batched transactions, enforces
/// retention (at start and hourly) and persists learned statistics (every
/// `journal.stats_interval` and at shutdown). Opens and checks the file before any other hosted
/// service starts, so a corrupt or locked journal stops the start with a clear message.
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

    internal JournalWriter(SqliteFailureJournal journal, JournalDatabase database, ConfigStore config, LearnedState learned, RpcShieldMetrics metrics, TimeProvider time, ILogger<JournalWriter> logger)
    {
        _journal = journal;
        _database = database;
        _config = config;
        _learned = learned;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        config.ReloadAttempted += result => _journal.Record(new JournalEntry { Kind = JournalKinds.ConfigReload, Timestamp = _time.GetUtcNow(), Reason = result });
    }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _database.Initialize();
        using var connection = _database.Open();
        EnforceRetention(connection);
        _learned.Load(connection);
        LogOpened(_database.Path, _config.Current.Journal.RetentionDays);
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _journal.Complete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var connection = _database.Open();
            // The drain loop may never have run (stopped right after start): write what is queued.
            using (var insert = JournalRows.PrepareInsert(connection))
            {
                Drain(connection, insert, new List<JournalEntry>(MaxBatch));
            }

            _learned.Persist(connection);
        }
        catch (SqliteException ex)
        {
            LogWriteFailed(ex, _database.Path);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var connection = _database.Open();
        using var insert = JournalRows.PrepareInsert(connection);
        var maintenance = MaintenanceLoopAsync(stoppingToken);
        var batch = new List<JournalEntry>(MaxBatch);
        var reader = _journal.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                Drain(connection, insert, batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Shutdown: whatever is still queued is written before the process exits.
        Drain(connection, insert, batch);
        await maintenance.ConfigureAwait(false);
    }

    private void Drain(SqliteConnection connection, SqliteCommand insert, List<JournalEntry> batch)
    {
        var reader = _journal.Reader;
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

            try
            {
                WriteBatch(connection, insert, batch);
            }
            catch (SqliteException ex)
            {
                // The file went bad while running (disk full, deleted directory): count, log, go on.
                _metrics.JournalDropped.Inc(batch.Count);
                LogWriteFailed(ex, _database.Path);
            }
        }
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

    /// <summary>One maintenance pass: persist learned statistics; enforce retention when due.</summary>
    internal void RunMaintenance()
    {
        try
        {
            using var connection = _database.Open();
            _learned.Persist(connection);
            if (_time.GetElapsedTime(Interlocked.Read(ref _lastRetention)) >= RetentionInterval)
            {
                EnforceRetention(connection);
            }
        }
        catch (SqliteException ex)
        {
            LogWriteFailed(ex, _database.Path);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Journal write to {Path} failed")]
    private partial void LogWriteFailed(Exception ex, string path);
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
        p[1].Value = entry.Kind;
        p[2].Value = (object?)entry.Chain ?? DBNull.Value;
        p[3].Value = (object?)Clip(entry.Strategy, 128) ?? DBNull.Value;
        p[4].Value = (object?)entry.HeadBlock ?? DBNull.Value;
        p[5].Value = (object?)entry.Method ?? DBNull.Value;
        p[6].Value = (object?)Clip(entry.Reason, 512) ?? DBNull.Value;
        p[7].Value = (object?)entry.LatencyMs ?? DBNull.Value;
        p[8].Value = (object?)entry.Upstream ?? DBNull.Value;
        p[9].Value = (object?)entry.Builder ?? DBNull.Value;
        p[10].Value = (object?)entry.BundleHash ?? DBNull.Value;
        p[11].Value = (object?)entry.TxHash ?? DBNull.Value;
        p[12].Value = (object?)entry.CompetitorTx ?? DBNull.Value;
        p[13].Value = (object?)entry.ExpectedProfit ?? DBNull.Value;
        p[14].Value = (object?)entry.Outcome ?? DBNull.Value;
        p[15].Value = (object?)Clip(entry.Note, 2048) ?? DBNull.Value;
    }

    private static string? Clip(string? value, int max) => value is null || value.Length <= max ? value : value[..max];

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
}
