using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using RpcShield.Features.Inclusion;
using RpcShield.Journal;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// At start, reads the latest `bundle_status` row of each bundle from the journal back into the
/// <see cref="BundleStatusBook"/>, so `rpcshield_getBundleStatus` answers across a restart; bundles
/// still pending go back to the inclusion tracker (judged by hash and nonce; without their raw
/// transactions a miss is `unknown`). A journal that cannot be read only costs the old statuses.
/// </summary>
internal sealed partial class BundleStatusRestorer(BundleStatusBook book, InclusionTracker tracker, JournalDatabase? database, ILogger<BundleStatusRestorer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (database is null)
        {
            // No journal configured: nothing to restore.
            return Task.CompletedTask;
        }

        try
        {
            using var connection = database.Open(readOnly: true);
            var restored = Restore(connection);
            if (restored > 0)
            {
                LogRestored(restored);
            }
        }
        catch (Exception ex) when (ex is SqliteException or JournalUnavailableException or InvalidOperationException or IOException)
        {
            LogNotRestored(JournalDatabase.Describe(ex));
        }

        return Task.CompletedTask;
    }

    internal int Restore(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT chain, bundle_hash, head_block, outcome, reason, builder, note, strategy FROM journal
            WHERE kind = 'bundle_status' AND chain IS NOT NULL AND bundle_hash IS NOT NULL AND head_block IS NOT NULL
            ORDER BY id DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$limit", BundleStatusBook.Capacity * 4);
        using var reader = command.ExecuteReader();
        var restored = 0;
        var seen = new HashSet<(string, string, long)>();
        while (reader.Read() && seen.Count < BundleStatusBook.Capacity)
        {
            var (chain, hash, target) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2));
            if (!seen.Add((chain, hash, target)))
            {
                continue;
            }

            var state = reader.IsDBNull(3) ? BundleReasons.Pending : reader.GetString(3);
            var reason = reader.IsDBNull(4) ? null : reader.GetString(4);
            var builder = reader.IsDBNull(5) ? null : reader.GetString(5);
            var note = BundleStatusNote.Read(reader.IsDBNull(6) ? null : reader.GetString(6));
            var strategy = reader.IsDBNull(7) ? null : reader.GetString(7);
            var includedIn = note.IncludedBlock is { } block ? new IncludedIn(block, builder ?? InclusionDecision.OtherBuilder) : null;
            var view = new BundleStatusView(chain, hash, target, state, reason, note.Detail, includedIn, note.Builders);
            if (book.Restore(view, note.TxHashes, note.Uuid, strategy) is null)
            {
                continue;
            }

            restored++;
            if (state is BundleReasons.Pending or BundleReasons.Cancelled && note.TxHashes.Count > 0 && note.Builders.Exists(b => b.IsOk))
            {
                tracker.Track(new TrackedBundle
                {
                    Chain = chain, BundleHash = hash, TargetBlock = target, TxHashes = note.TxHashes, Transactions = [], Strategy = strategy,
                    AcceptedBy = [.. note.Builders.Where(b => b.IsOk).Select(b => b.Builder)],
                });
            }
        }

        return restored;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Count} bundle status(es) from the journal")]
    private partial void LogRestored(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bundle statuses were not restored from the journal: {Reason}")]
    private partial void LogNotRestored(string reason);
}
