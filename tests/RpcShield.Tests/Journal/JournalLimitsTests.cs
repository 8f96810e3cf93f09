using Microsoft.Data.Sqlite;
using RpcShield.Journal;

namespace RpcShield.Tests.Journal;

/// <summary>Field caps, `journal.max_bytes` and a journal that fails while running, with real SQLite.</summary>
public sealed class JournalLimitsTests
{
    [Fact]
    public async Task Oversized_fields_are_capped_and_unknown_methods_stored_as_other()
    {
        using var fixture = new JournalFixture();
        await fixture.StartAsync();
        var huge = new string('x', 1 << 20);
        fixture.Journal.Record(new JournalEntry
        {
            Kind = JournalKinds.Failover, Chain = huge, Strategy = huge, Method = "eth_" + huge, Reason = huge, Upstream = huge, Builder = huge,
            BundleHash = huge, TxHash = huge, CompetitorTx = huge, Outcome = huge, Note = huge,
        });
        foreach (var known in (string[])["flashbots_getBundleStatsV2", "mev_sendBundle", "titan_getBundleStats", "rpcshield_getBundleStatus"])
        {
            fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.Builder, Method = known });
        }

        await fixture.StopAsync();

        using var connection = fixture.Database.Open();
        Assert.Equal("other", JournalDatabase.Scalar(connection, "SELECT method FROM journal WHERE kind = 'failover'"));
        var longest = (long)JournalDatabase.Scalar(connection, """
            SELECT MAX(MAX(LENGTH(chain), LENGTH(strategy), LENGTH(reason), LENGTH(upstream), LENGTH(builder), LENGTH(bundle_hash),
                           LENGTH(tx_hash), LENGTH(competitor_tx), LENGTH(outcome), LENGTH(note))) FROM journal
            """)!;
        Assert.Equal(2048, longest);
        Assert.Equal(128, (long)JournalDatabase.Scalar(connection, "SELECT LENGTH(strategy) FROM journal WHERE kind = 'failover'")!);
        Assert.Equal(512, (long)JournalDatabase.Scalar(connection, "SELECT LENGTH(reason) FROM journal WHERE kind = 'failover'")!);
        Assert.Equal(4, (long)JournalDatabase.Scalar(connection, "SELECT COUNT(*) FROM journal WHERE kind = 'builder' AND method <> 'other'")!);
    }

    [Fact]
    public async Task Max_bytes_prunes_the_oldest_rows_and_the_file_stops_growing()
    {
        using var fixture = new JournalFixture(maxBytes: "1MiB");
        await fixture.StartAsync();
        var note = new string('n', 2000);
        // ~10 MB of rows in bursts: ten times the limit.
        for (var i = 0; i < 5000; i++)
        {
            fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.Failover, Reason = $"row {i}", Note = note });
            if (i % 500 == 499)
            {
                await WaitDrainedAsync(fixture);
            }
        }

        await fixture.StopAsync();
        Assert.Equal(0, fixture.Dropped);

        using var connection = fixture.Database.Open();
        Assert.True(JournalSizeLimit.UsedBytes(connection) <= (1 << 20) + (512 * 2200), $"{JournalSizeLimit.UsedBytes(connection)} bytes in use");
        Assert.True(new FileInfo(fixture.Path).Length <= 3 << 20, $"file is {new FileInfo(fixture.Path).Length} bytes");
        // The newest rows are kept, the oldest went.
        Assert.Equal(1, fixture.Count("reason = 'row 4999'"));
        Assert.Equal(0, fixture.Count("reason = 'row 0'"));
        Assert.True(fixture.Count() is > 100 and < 1000, $"{fixture.Count()} rows kept");
        Assert.Contains(fixture.Logs.Lines, line => line.Contains("journal.max_bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_journal_that_fails_while_running_drops_and_counts_logs_once_and_resumes()
    {
        using var fixture = new JournalFixture();
        await fixture.StartAsync();
        fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.Failover, Reason = "before" });
        await WaitUntilAsync(() => fixture.Written(JournalKinds.Failover) == 1);

        // Another process takes the write lock and keeps it: every write fails (after the busy timeout).
        using (var holder = new SqliteConnection($"Data Source={fixture.Path};Pooling=False"))
        {
            holder.Open();
            JournalDatabase.Execute(holder, "BEGIN EXCLUSIVE;");
            fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.Failover, Reason = "while locked" });
            await WaitUntilAsync(() => !fixture.Writer.Availability.IsUp);
            Assert.Contains("locked", fixture.Writer.Availability.DownReason, StringComparison.Ordinal);

            // While down and not due for a retry, entries are dropped and counted at once (no write attempt).
            for (var i = 0; i < 2000; i++)
            {
                fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.Failover, Reason = "down" });
            }

            await WaitUntilAsync(() => fixture.Dropped >= 2001);
            JournalDatabase.Execute(holder, "ROLLBACK;");
        }

        // Past the retry interval the next entry is written and the journal is up again.
        fixture.Time.Advance(JournalAvailability.RetryInterval);
        fixture.Journal.Record(new JournalEntry { Kind = JournalKinds.Failover, Reason = "after" });
        await WaitUntilAsync(() => fixture.Writer.Availability.IsUp);
        await fixture.StopAsync();

        Assert.Equal(1, fixture.Count("reason = 'after'"));
        Assert.Equal(0, fixture.Count("reason = 'down'"));
        Assert.Equal(2001, fixture.Dropped);
        // One line going down, one coming back: not one per failed row.
        Assert.Single(fixture.Logs.Lines, line => line.Contains("is down", StringComparison.Ordinal));
        Assert.Single(fixture.Logs.Lines, line => line.Contains("written again", StringComparison.Ordinal) && line.Contains("2001 entries", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Logs.Lines, line => line.Contains("   at ", StringComparison.Ordinal));
    }

    private static Task WaitDrainedAsync(JournalFixture fixture) => WaitUntilAsync(() => fixture.Journal.Pending == 0);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(20);
        }
    }
}
