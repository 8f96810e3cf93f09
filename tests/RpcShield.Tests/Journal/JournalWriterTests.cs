using Microsoft.Data.Sqlite;
using RpcShield.Journal;

namespace RpcShield.Tests.Journal;

public sealed class JournalWriterTests
{
    [Fact]
    public async Task A_full_queue_drops_and_counts_instead_of_blocking_the_caller()
    {
        using var fixture = new JournalFixture(capacity: 16);
        // No writer running: nothing drains, so everything past the capacity must be dropped at once.
        var producers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 250; i++)
            {
                fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.FailedAttempt, Upstream = $"u{t}", Reason = "timeout" });
            }
        }));
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(16, fixture.Journal.Pending);
        Assert.Equal(1000 - 16, fixture.Dropped);
    }

    [Fact]
    public async Task Entries_recorded_under_load_are_all_written_or_counted_as_dropped()
    {
        using var fixture = new JournalFixture(capacity: 2000);
        await fixture.StartAsync();
        const int Threads = 4, PerThread = 5000;
        var producers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                fixture.Journal.Record(new JournalEntry { Kind = i % 2 == 0 ? JournalKinds.FailedAttempt : JournalKinds.Failover, Chain = "test", Upstream = $"u{t}", Reason = "timeout", LatencyMs = i });
            }
        }));
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(30));
        await fixture.StopAsync();

        var written = fixture.Written(JournalKinds.FailedAttempt) + fixture.Written(JournalKinds.Failover);
        Assert.Equal(Threads * PerThread, written + fixture.Dropped);
        Assert.Equal((long)written, fixture.Count());
        Assert.True(written > 0);
    }

    [Fact]
    public async Task Every_field_round_trips_and_survives_a_restart()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        string path;
        using (var first = new JournalFixture(time: time))
        {
            path = first.Path;
            await first.StartAsync();
            first.Journal.Record(new JournalEntry
            {
                Kind = JournalKinds.Outcome, Timestamp = time.GetUtcNow(), Chain = "test", Strategy = "arb-1", HeadBlock = 123, Method = "eth_call",
                Reason = "lost", LatencyMs = 12.5, Upstream = "a", Builder = "flashbots", BundleHash = "0xb1", TxHash = "0x71", CompetitorTx = "0xc1",
                ExpectedProfit = 0.25, Outcome = "lost_to_competitor", Note = "front-run",
            });
            await first.StopAsync();

            // A second run on the same file: the row is still there and new rows append.
            using var second = new JournalFixture(time: time, path: path);
            await second.StartAsync();
            second.Journal.Record(new JournalEntry { Kind = JournalKinds.ConfigReload, Timestamp = time.GetUtcNow(), Reason = "success" });
            await second.StopAsync();
            Assert.Equal(2, second.Count());

            using var connection = second.Database.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT ts_ms, kind, chain, strategy, head_block, method, reason, latency_ms, upstream, builder, bundle_hash, tx_hash, competitor_tx, expected_profit, outcome, note FROM journal WHERE kind = 'outcome'";
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), reader.GetInt64(0));
            string[] expected = ["outcome", "test", "arb-1"];
            Assert.Equal(expected, new[] { reader.GetString(1), reader.GetString(2), reader.GetString(3) });
            Assert.Equal(123, reader.GetInt64(4));
            Assert.Equal(["eth_call", "lost"], new[] { reader.GetString(5), reader.GetString(6) });
            Assert.Equal(12.5, reader.GetDouble(7));
            Assert.Equal(["a", "flashbots", "0xb1", "0x71", "0xc1"], Enumerable.Range(8, 5).Select(reader.GetString).ToArray());
            Assert.Equal(0.25, reader.GetDouble(13));
            Assert.Equal(["lost_to_competitor", "front-run"], new[] { reader.GetString(14), reader.GetString(15) });
            Assert.Equal("wal", (string)JournalDatabase.Scalar(connection, "PRAGMA journal_mode;")!);
        }
    }

    [Fact]
    public async Task Retention_deletes_old_rows_at_start_and_when_due()
    {
        using var fixture = new JournalFixture(retentionDays: 30);
        var now = fixture.Time.GetUtcNow();
        fixture.Database.Initialize();
        using (var connection = fixture.Database.Open())
        {
            JournalRows.InsertAll(connection,
            [
                new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = now.AddDays(-40) },
                new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = now.AddDays(-31) },
                new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = now.AddDays(-29) },
                new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = now.AddDays(-1) },
            ]);
        }

        await fixture.StartAsync();
        Assert.Equal(2, fixture.Count());

        // Two days later the row that was 29 days old is past retention; the hourly pass removes it.
        fixture.Time.Advance(TimeSpan.FromDays(2));
        fixture.Writer.RunMaintenance();
        Assert.Equal(1, fixture.Count());
        Assert.Equal(1, fixture.Count($"ts_ms = {now.AddDays(-1).ToUnixTimeMilliseconds()}"));
        await fixture.StopAsync();
    }

    [Fact]
    public void A_corrupt_file_is_refused_with_a_message_naming_it()
    {
        using var fixture = new JournalFixture();
        File.WriteAllBytes(fixture.Path, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());

        var error = Assert.Throws<JournalUnavailableException>(() => fixture.Database.Initialize());
        Assert.Contains(fixture.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", error.Message, StringComparison.Ordinal);
        Assert.Contains("refusing to start", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupt_file_stops_the_writer_before_anything_else_starts()
    {
        using var fixture = new JournalFixture();
        await File.WriteAllTextAsync(fixture.Path, "this is not a database, it is a text file pretending to be one....................................");
        var error = await Assert.ThrowsAsync<JournalUnavailableException>(fixture.StartAsync);
        Assert.Equal(fixture.Path, error.FilePath);
    }

    [Fact]
    public async Task Config_reloads_are_journaled_with_their_result()
    {
        using var fixture = new JournalFixture();
        await fixture.StartAsync();
        fixture.Config.Apply(fixture.Options);
        await fixture.StopAsync();
        Assert.Equal(1, fixture.Count("kind = 'config_reload' AND reason = 'success'"));
        Assert.Equal(1, fixture.Written(JournalKinds.ConfigReload));
    }

    [Fact]
    public void A_locked_file_is_refused_with_a_message_naming_it()
    {
        using var fixture = new JournalFixture();
        fixture.Database.Initialize();
        // Another process holding an exclusive lock (here: another connection in exclusive mode).
        using var holder = new SqliteConnection($"Data Source={fixture.Path};Pooling=False");
        holder.Open();
        JournalDatabase.Execute(holder, "PRAGMA journal_mode = DELETE; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;");
        var error = Assert.Throws<JournalUnavailableException>(() => fixture.Database.Initialize());
        Assert.Contains(fixture.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("locked", error.Message, StringComparison.Ordinal);
        JournalDatabase.Execute(holder, "ROLLBACK;");
    }
}
