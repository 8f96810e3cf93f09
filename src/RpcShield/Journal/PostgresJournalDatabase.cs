using System.Data.Common;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace RpcShield.Journal;

/// <summary>
/// The journal in a PostgreSQL database shared by a fleet (`journal.postgres`). Migrations run under
/// an advisory lock (instances starting together migrate once); retention is pruned by one instance
/// at a time (another advisory lock, tried, never waited on). A database that cannot be reached is
/// only unavailable (the writer buffers and retries); one that answers with an error that will not
/// go away (wrong password, missing database, a foreign `journal` table, a newer schema) refuses the start.
/// </summary>
internal sealed class PostgresJournalDatabase : IJournalStore
{
    // Advisory lock keys ("RpcShMigr", "RpcShRetn" as ASCII, truncated to 64 bits).
    private const long MigrationLock = 0x5270_6353_684D_6967;
    internal const long RetentionLock = 0x5270_6353_6852_6574;
    private const string RefuseToStart = "; refusing to start (fix journal.postgres or the database)";

    private readonly string _connectionString;

    public PostgresJournalDatabase(string connectionString)
    {
        if (!TryParse(connectionString, out var builder, out var error))
        {
            throw new ArgumentException(error, nameof(connectionString));
        }

        // Bounded waits: the writer runs off the request path, but shutdown and the start check must not hang on a dead host.
        builder!.Timeout = Math.Min(builder.Timeout, 5);
        builder.CommandTimeout = Math.Min(builder.CommandTimeout, 15);
        builder.ApplicationName ??= "rpcshield";
        _connectionString = builder.ConnectionString;
        Name = $"postgres://{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
    }

    public string Name { get; }

    public bool BuffersWhileDown => true;

    /// <summary>Parses `journal.postgres`; the error never echoes the string (it may hold a password).</summary>
    public static bool TryParse(string connectionString, out NpgsqlConnectionStringBuilder? builder, out string error)
    {
        builder = null;
        error = "";
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
        {
            var keyword = ex.Message.StartsWith("Keyword not supported", StringComparison.Ordinal) ? $" ({ex.Message.Split('\n')[0]})" : "";
            error = $"is not a valid PostgreSQL connection string{keyword}: expected Host=…;Port=5432;Database=…;Username=…;Password=${{PGPASSWORD}} (value not shown)";
            return false;
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            error = "needs Host=… (value not shown)";
            builder = null;
            return false;
        }

        return true;
    }

    public DbConnection Open(bool readOnly = false)
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Initialize()
    {
        try
        {
            using var connection = (NpgsqlConnection)Open();
            using var transaction = connection.BeginTransaction();
            JournalDatabase.Execute(connection, $"SELECT pg_advisory_xact_lock({MigrationLock}); CREATE TABLE IF NOT EXISTS rpcshield_schema (version INTEGER NOT NULL);");
            var version = Convert.ToInt32(JournalDatabase.Scalar(connection, "SELECT COALESCE(MAX(version), 0) FROM rpcshield_schema;"), System.Globalization.CultureInfo.InvariantCulture);
            if (version > JournalSchema.Version)
            {
                throw new JournalUnavailableException(Name, $"schema version {version} was written by a newer RpcShield (this one knows {JournalSchema.Version}){RefuseToStart}") { Reason = $"schema version {version} is newer than this RpcShield's" };
            }

            for (var step = version + 1; step <= JournalSchema.Version; step++)
            {
                JournalDatabase.Execute(connection, JournalSchema.Step(step, postgres: true));
            }

            if (version < JournalSchema.Version)
            {
                JournalDatabase.Execute(connection, $"DELETE FROM rpcshield_schema; INSERT INTO rpcshield_schema (version) VALUES ({JournalSchema.Version});");
            }

            transaction.Commit();
        }
        catch (PostgresException ex) when (!ex.IsTransient)
        {
            var reason = Describe(ex);
            throw new JournalUnavailableException(Name, reason + RefuseToStart, ex) { Reason = reason };
        }
        catch (Exception ex) when (IsStoreError(ex))
        {
            var reason = JournalDatabase.Describe(ex);
            throw new JournalUnavailableException(Name, reason, ex) { RefusesStart = false, Reason = reason };
        }
    }

    public bool IsStoreError(Exception ex) => ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException;

    public int DeleteOlderThan(DbConnection connection, long cutoffMs)
    {
        using var transaction = connection.BeginTransaction();
        // Transaction-scoped: released by the commit, or by the server if this instance dies mid-prune.
        if (JournalDatabase.Scalar(connection, $"SELECT pg_try_advisory_xact_lock({RetentionLock});") is not true)
        {
            transaction.Rollback();
            return -1;
        }

        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM journal WHERE ts_ms < @cutoff";
        JournalRows.Add(command, "@cutoff", cutoffMs);
        var deleted = command.ExecuteNonQuery();
        command.CommandText = "DELETE FROM upstream_samples WHERE ts_ms < @cutoff";
        deleted += command.ExecuteNonQuery();
        transaction.Commit();
        return deleted;
    }

    /// <summary>A shared database is bounded by `retention_days` (sizing it is the DBA's job, not one instance's).</summary>
    public void EnforceSize(DbConnection connection, long maxBytes, ILogger logger)
    {
    }

    /// <summary>Short reason (SQLSTATE and server message, or why the server could not be reached; never the connection string).</summary>
    public static string Describe(NpgsqlException ex) => ex switch
    {
        PostgresException pg => $"PostgreSQL {pg.SqlState}: {pg.MessageText}",
        _ => $"unreachable ({(ex.InnerException ?? ex).Message})",
    };

    /// <summary>Drops pooled connections to this database (after a failure they may all be dead).</summary>
    public static void ClearPool(DbConnection? connection)
    {
        if (connection is NpgsqlConnection npgsql)
        {
            NpgsqlConnection.ClearPool(npgsql);
        }
    }
}
