using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace RpcShield.Journal;

/// <summary>
/// Where the journal lives: the SQLite file (<see cref="JournalDatabase"/>) or a PostgreSQL database
/// shared by a fleet (<see cref="PostgresJournalDatabase"/>). Both hold the same schema, migrated by
/// the same steps (<see cref="JournalSchema"/>); the writer, learned state and report speak plain
/// ADO.NET (<see cref="DbConnection"/>, `@name` parameters) to either.
/// </summary>
internal interface IJournalStore
{
    /// <summary>Names the journal in log lines and the report (a file path, or `postgres://host:port/db`: never a password).</summary>
    string Name { get; }

    /// <summary>
    /// True when the store is reached over the network: while it is down, entries stay queued (up to
    /// `journal.queue_capacity`, then dropped and counted) instead of being dropped at once.
    /// </summary>
    bool BuffersWhileDown { get; }

    /// <summary>
    /// Creates or migrates the schema. Throws <see cref="JournalUnavailableException"/>: with
    /// <c>RefusesStart</c> for a store someone must look at (corrupt, foreign, unmigratable), without it
    /// for one that is merely unavailable (disk full, database unreachable).
    /// </summary>
    void Initialize();

    /// <summary>Opens a connection for writing, or read-only for the report.</summary>
    DbConnection Open(bool readOnly = false);

    /// <summary>True for the store's own failures (those take the journal down; anything else is a bug).</summary>
    bool IsStoreError(Exception ex);

    /// <summary>Deletes rows older than <paramref name="cutoffMs"/>; -1 when another instance is pruning right now.</summary>
    int DeleteOlderThan(DbConnection connection, long cutoffMs);

    /// <summary>Keeps the store under `journal.max_bytes` (SQLite; a shared database is bounded by retention).</summary>
    void EnforceSize(DbConnection connection, long maxBytes, ILogger logger);
}
