using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

/// <summary>
/// Drains <see cref="SqliteFailureJournal"/> into the journal store (<see cref="IJournalStore"/>:
/// the SQLite file or a shared PostgreSQL database) in batched transactions, keeps a file under
/// `journal.max_bytes` (<see cref="JournalSizeLimit"/>), enforces retention (at start and hourly)
/// and persists learned statistics (every `journal.stats_interval` and at shutdown). Opens and
/// checks the store before any other hosted service starts, so a corrupt or locked file, or a
/// database that refuses us, stops the start with a clear message; a full disk or an unreachable
/// database only takes the journal down (<see cref="JournalAvailability"/>): RPC keeps serving and
/// writing resumes when it can. While a database is down, entries wait in the queue (up to
/// `journal.queue_capacity`, plus the batch in hand) instead of being dropped at once.
/// </summary>
internal sealed partial class JournalWriter : BackgroundService, IHostedLifecycleService
{
    private const int MaxBatch = 512;
    private static readonly TimeSpan RetentionInterval = TimeSpan.FromHours(1);

    private readonly SqliteFailureJournal _journal;
    private readonly IJournalStore _database;
    private readonly string _instance;
    // The batch being written; kept across a failed write when the store buffers while down.
    private readonly List<JournalEntry> _batch = new(MaxBatch);
    private readonly ConfigStore _config;
    private readonly LearnedState _learned;
    private readonly RpcShieldMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<JournalWriter> _logger;
    private readonly Dictionary<string, Prometheus.Counter.Child> _written = new(StringComparer.Ordinal);
    private long _lastRetention;
    private DbConnection? _connection;
    private DbCommand? _insert;
    // One writer connection, used by the drain loop, maintenance and shutdown in turn.
    private readonly Lock _writeLock = new();

    internal JournalWriter(SqliteFailureJournal journal, IJournalStore database, ConfigStore config, LearnedState learned, RpcShieldMetrics metrics, TimeProvider time, ILogger<JournalWriter> logger, LogLimiter limiter, string? instance = null)
    {
        _instance = instance ?? config.Current.Journal.Instance ?? Environment.MachineName;
        _journal = journal;
        _database = database;
        _config = config;
        _learned = learned;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        Availability = new JournalAvailability(database.Name, time, limiter, logger);
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
            LogOpened(_database.Name, _instance, _config.Current.Journal.RetentionDays);
        }
        catch (JournalUnavailableException ex) when (!ex.RefusesStart)
        {
            Availability.Down(ex.Reason);
        }
        catch (Exception ex) when (_database.IsStoreError(ex) && !(ex is SqliteException sqlite && JournalDatabase.RefusesStart(sqlite)))
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
        Drain();
        lock (_writeLock)
        {
            // What a down database still holds at shutdown is lost: counted, like any drop.
            if (_batch.Count > 0 || _journal.Pending > 0)
            {
                var lost = _batch.Count + _journal.Pending;
                _batch.Clear();
                while (_journal.Reader.TryRead(out _))
                {
                }

                _metrics.JournalDropped.Inc(lost);
                Availability.Dropped(lost);
            }

            if (EnsureOpen())
            {
                try
                {
                    _learned.Persist(_connection!, _instance);
                }
                catch (Exception ex) when (_database.IsStoreError(ex))
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
        var reader = _journal.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!Drain())
                {
                    // A database is down and the batch is held: try again when a retry is due, not in a spin.
                    await Task.Delay(JournalAvailability.RetryInterval, _time, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await maintenance.ConfigureAwait(false);
    }

    /// <summary>
    /// Writes everything queued. While the journal is down (and not due for a retry) a file's entries
    /// are dropped and counted; a database's stay queued (false is returned: the batch is held).
    /// </summary>
    private bool Drain()
    {
        var reader = _journal.Reader;
        var batch = _batch;
        lock (_writeLock)
        {
            while (true)
            {
                while (batch.Count < MaxBatch && reader.TryRead(out var entry))
                {
                    batch.Add(entry);
                }

                if (batch.Count == 0)
                {
                    return true;
                }

                if (TryWrite(batch))
                {
                    batch.Clear();
                    continue;
                }

                if (_database.BuffersWhileDown)
                {
                    return false;
                }

                _metrics.JournalDropped.Inc(batch.Count);
                Availability.Dropped(batch.Count);
                batch.Clear();
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
            _database.EnforceSize(_connection!, _config.Current.Journal.MaxBytes, _logger);
            Availability.Up();
            return true;
        }
        catch (Exception ex) when (_database.IsStoreError(ex))
        {
            // The file went bad (disk full, I/O error) or the database went away: reopen on the next try.
            Close(failed: true);
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
        catch (Exception ex) when (ex is JournalUnavailableException || _database.IsStoreError(ex))
        {
            Close(failed: true);
            Availability.Down(JournalDatabase.Describe(ex));
            return false;
        }
    }

    private void Close(bool failed = false)
    {
        _insert?.Dispose();
        if (failed)
        {
            PostgresJournalDatabase.ClearPool(_connection);
        }

        _connection?.Dispose();
        _insert = null;
        _connection = null;
    }

    private void WriteBatch(DbConnection connection, DbCommand insert, List<JournalEntry> batch)
    {
        using var transaction = connection.BeginTransaction();
        insert.Transaction = transaction;
        foreach (var entry in batch)
        {
            JournalRows.Bind(insert, entry, _instance);
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
                _learned.Persist(_connection!, _instance);
                if (_time.GetElapsedTime(Interlocked.Read(ref _lastRetention)) >= RetentionInterval)
                {
                    EnforceRetention(_connection!);
                }

                Availability.Up();
            }
            catch (Exception ex) when (_database.IsStoreError(ex))
            {
                Close(failed: true);
                Availability.Down(JournalDatabase.Describe(ex));
            }
        }
    }

    /// <summary>Deletes journal rows and samples older than `journal.retention_days` (-1: another instance is pruning the shared database).</summary>
    internal int EnforceRetention(DbConnection connection)
    {
        Interlocked.Exchange(ref _lastRetention, _time.GetTimestamp());
        var cutoff = (_time.GetUtcNow() - TimeSpan.FromDays(_config.Current.Journal.RetentionDays)).ToUnixTimeMilliseconds();
        var deleted = _database.DeleteOlderThan(connection, cutoff);
        if (deleted > 0)
        {
            LogRetention(deleted, _config.Current.Journal.RetentionDays);
        }

        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Failure journal at {Path}, rows written as instance {Instance} (retention {Days} days)")]
    private partial void LogOpened(string path, string instance, int days);

    [LoggerMessage(Level = LogLevel.Information, Message = "Journal retention deleted {Rows} rows older than {Days} days")]
    private partial void LogRetention(int rows, int days);

}

/// <summary>Row mapping of <see cref="JournalEntry"/> (shared by the writer and fixtures).</summary>
internal static class JournalRows
{
    public static DbCommand PrepareInsert(DbConnection connection)
    {
        var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO journal (ts_ms, kind, chain, strategy, head_block, method, reason, latency_ms, upstream, builder,
                                 bundle_hash, tx_hash, competitor_tx, expected_profit, outcome, note, instance)
            VALUES (@ts, @kind, @chain, @strategy, @head, @method, @reason, @latency, @upstream, @builder,
                    @bundle, @tx, @competitor, @profit, @outcome, @note, @instance);
            """;
        foreach (var name in (string[])["@ts", "@kind", "@chain", "@strategy", "@head", "@method", "@reason", "@latency", "@upstream", "@builder", "@bundle", "@tx", "@competitor", "@profit", "@outcome", "@note", "@instance"])
        {
            Add(command, name, DBNull.Value);
        }

        // Npgsql prepares from the first bound values instead; SQLite compiles the statement once here.
        if (connection is SqliteConnection)
        {
            command.Prepare();
        }

        return command;
    }

    /// <summary>Adds a parameter the way both ADO.NET providers understand (`@name`).</summary>
    public static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    public static void Bind(DbCommand insert, JournalEntry entry, string? instance)
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
        p[16].Value = Text(instance, JournalLimits.Name);
    }

    /// <summary>A text column's value: clipped to <paramref name="max"/>, DBNull for null.</summary>
    public static object Text(string? value, int max) => (object?)JournalLimits.Clip(value, max) ?? DBNull.Value;

    /// <summary>Inserts entries in one transaction (fixtures, imports).</summary>
    public static void InsertAll(DbConnection connection, IEnumerable<JournalEntry> entries, string? instance = null)
    {
        using var transaction = connection.BeginTransaction();
        using var insert = PrepareInsert(connection);
        insert.Transaction = transaction;
        foreach (var entry in entries)
        {
            Bind(insert, entry, instance);
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
