using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.Telemetry;

namespace RpcShield.Tests.Journal;

/// <summary>A real SQLite journal in a temp file with the real writer, fake time and a private metrics registry.</summary>
internal sealed class JournalFixture : IDisposable
{
    public JournalFixture(int capacity = 10_000, int retentionDays = 30, FakeTimeProvider? time = null, string? path = null, string maxBytes = "1GiB")
    {
        Path = path ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rpcshield-journal-{Guid.NewGuid():N}.db");
        Time = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        var yaml = $$"""
            journal: { path: "{{Path}}", retention_days: {{retentionDays}}, queue_capacity: {{capacity}}, max_bytes: {{maxBytes}} }
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - { name: a, url: "http://127.0.0.1:9" }
                  - { name: b, url: "http://127.0.0.1:10" }
            """;
        var loaded = ConfigLoader.LoadText(yaml);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        Options = loaded.Options!;
        Config = new ConfigStore(Options, null, NullLogger<ConfigStore>.Instance);
        Metrics = new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry());
        Chains = new ChainRegistry(Config, Time, Metrics, NullLogger<ChainRegistry>.Instance);
        Database = new JournalDatabase(Path);
        Journal = new SqliteFailureJournal(capacity, Metrics);
        Learned = new LearnedState(Chains, Time, NullLogger<LearnedState>.Instance);
        Logs = new CapturingLogger();
        Writer = new JournalWriter(Journal, Database, Config, Learned, Metrics, Time, Logs, new LogLimiter(Metrics, Time));
    }

    public string Path { get; }
    public FakeTimeProvider Time { get; }
    public ProxyOptions Options { get; }
    public ConfigStore Config { get; }
    public RpcShieldMetrics Metrics { get; }
    public ChainRegistry Chains { get; }
    public JournalDatabase Database { get; }
    public SqliteFailureJournal Journal { get; }
    public LearnedState Learned { get; }
    public JournalWriter Writer { get; }
    public CapturingLogger Logs { get; }

    public async Task StartAsync()
    {
        await Writer.StartingAsync(CancellationToken.None);
        await Writer.StartAsync(CancellationToken.None);
    }

    public Task StopAsync() => Writer.StopAsync(CancellationToken.None);

    public long Count(string where = "1 = 1")
    {
        using var connection = Database.Open();
        return (long)JournalDatabase.Scalar(connection, $"SELECT COUNT(*) FROM journal WHERE {where}")!;
    }

    public double Written(string kind) => Metrics.JournalEntries.WithLabels(kind).Value;

    public double Dropped => Metrics.JournalDropped.Value;

    public void Dispose()
    {
        Chains.Dispose();
        SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(Path + suffix);
        }
    }
}
