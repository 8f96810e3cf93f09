using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace RpcShield.Journal;

/// <summary>
/// Keeps the journal under `journal.max_bytes`: when the pages in use pass it, the oldest journal
/// rows (and samples older than the oldest kept row) are deleted down to <see cref="PruneTo"/> of
/// the limit. SQLite reuses the freed pages, so the file stops growing near the limit (it may pass
/// it by at most one write batch before the next check).
/// </summary>
internal static partial class JournalSizeLimit
{
    /// <summary>Prune to 90 % so the next batches do not prune again at once.</summary>
    public const double PruneTo = 0.9;

    /// <summary>Bytes in use by the database (pages minus free pages).</summary>
    public static long UsedBytes(SqliteConnection connection)
    {
        var pageSize = Convert.ToInt64(JournalDatabase.Scalar(connection, "PRAGMA page_size;"), System.Globalization.CultureInfo.InvariantCulture);
        var pages = Convert.ToInt64(JournalDatabase.Scalar(connection, "PRAGMA page_count;"), System.Globalization.CultureInfo.InvariantCulture);
        var free = Convert.ToInt64(JournalDatabase.Scalar(connection, "PRAGMA freelist_count;"), System.Globalization.CultureInfo.InvariantCulture);
        return (pages - free) * pageSize;
    }

    /// <summary>Deletes the oldest rows when over <paramref name="maxBytes"/>; returns how many journal rows went.</summary>
    public static long Enforce(SqliteConnection connection, long maxBytes, ILogger logger)
    {
        var used = UsedBytes(connection);
        if (used <= maxBytes)
        {
            return 0;
        }

        long first, last;
        using (var range = connection.CreateCommand())
        {
            range.CommandText = "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM journal;";
            using var reader = range.ExecuteReader();
            reader.Read();
            first = reader.GetInt64(0);
            last = reader.GetInt64(1);
        }

        // Row ids are dense (AUTOINCREMENT, deletes only at the old end): the share of rows to go is the share of bytes to free.
        var rows = last - first + 1;
        var share = (used - (maxBytes * PruneTo)) / used;
        var delete = Math.Max(1, (long)Math.Ceiling(rows * share));
        using (var prune = connection.CreateCommand())
        {
            prune.CommandText = """
                DELETE FROM journal WHERE id < $cut;
                DELETE FROM upstream_samples WHERE ts_ms < COALESCE((SELECT MIN(ts_ms) FROM journal), 9223372036854775807);
                """;
            prune.Parameters.AddWithValue("$cut", first + delete);
            prune.ExecuteNonQuery();
        }

        LogPruned(logger, delete, used, maxBytes);
        return delete;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Journal over journal.max_bytes ({Used} > {Max} bytes in use): deleted the {Rows} oldest rows")]
    private static partial void LogPruned(ILogger logger, long rows, long used, long max);
}
