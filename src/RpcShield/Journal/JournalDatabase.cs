using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace RpcShield.Journal;

/// <summary>
/// The journal's SQLite file: schema, WAL mode and the start-up check that refuses a corrupt or
/// locked file with a message naming it (instead of failing later on the request path).
/// </summary>
internal sealed class JournalDatabase : IJournalStore
{
    private const string RefuseToStart = "; refusing to start (repair or move the file, or change journal.path)";

    public JournalDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    public string Name => Path;

    public bool BuffersWhileDown => false;

    DbConnection IJournalStore.Open(bool readOnly) => Open(readOnly);

    public bool IsStoreError(Exception ex) => ex is SqliteException;

    public int DeleteOlderThan(DbConnection connection, long cutoffMs)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM journal WHERE ts_ms < @cutoff; DELETE FROM upstream_samples WHERE ts_ms < @cutoff;";
        JournalRows.Add(command, "@cutoff", cutoffMs);
        return command.ExecuteNonQuery();
    }

    public void EnforceSize(DbConnection connection, long maxBytes, ILogger logger) => JournalSizeLimit.Enforce((SqliteConnection)connection, maxBytes, logger);

    public SqliteConnection Open(bool readOnly = false, int timeoutSeconds = 5)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = timeoutSeconds,
        }.ToString());
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout = {timeoutSeconds * 1000};");
        return connection;
    }

    /// <summary>
    /// Opens (creating when absent) the file, checks it is a healthy SQLite database that can be
    /// written, switches to WAL and creates the schema. Throws <see cref="JournalUnavailableException"/>
    /// naming the file otherwise.
    /// </summary>
    public void Initialize()
    {
        try
        {
            var directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            // A short wait: a file another process holds locked is reported at start, not waited on.
            using var connection = Open(timeoutSeconds: 1);
            var check = Scalar(connection, "PRAGMA quick_check;") as string;
            if (!string.Equals(check, "ok", StringComparison.OrdinalIgnoreCase))
            {
                throw new JournalUnavailableException(Path, $"integrity check failed ({check}){RefuseToStart}");
            }

            var mode = Scalar(connection, "PRAGMA journal_mode = WAL;") as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new JournalUnavailableException(Path, $"cannot switch to WAL mode (got '{mode}'){RefuseToStart}");
            }

            Execute(connection, "PRAGMA synchronous = NORMAL;");
            var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
            if (version > JournalSchema.Version)
            {
                throw new JournalUnavailableException(Path, $"schema version {version} was written by a newer RpcShield (this one knows {JournalSchema.Version}){RefuseToStart}");
            }

            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                for (var step = version + 1; step <= JournalSchema.Version; step++)
                {
                    command.CommandText = JournalSchema.Step(step, postgres: false) + $"PRAGMA user_version = {step};";
                    command.ExecuteNonQuery();
                }

                transaction.Commit();
            }
        }
        catch (SqliteException ex)
        {
            throw Unavailable(Describe(ex), RefusesStart(ex), ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw Unavailable("permission denied", refusesStart: false, ex);
        }
        catch (IOException ex)
        {
            throw Unavailable(ex.Message, refusesStart: false, ex);
        }
    }

    /// <summary>
    /// A corrupt, foreign or locked file is a start error (someone must look at it); a full or failing
    /// disk is not: RpcShield serves with the journal down and retries.
    /// </summary>
    internal static bool RefusesStart(SqliteException ex) => (ex.SqliteErrorCode & 0xff) is 5 or 6 or 11 or 26;

    private JournalUnavailableException Unavailable(string reason, bool refusesStart, Exception inner) =>
        new(Path, refusesStart ? reason + RefuseToStart : reason, inner) { RefusesStart = refusesStart, Reason = reason };

    /// <summary>Short reason of a failed journal operation (no secrets, no stack trace).</summary>
    public static string Describe(Exception ex) => ex switch
    {
        JournalUnavailableException unavailable => unavailable.Reason,
        SqliteException sqlite => Describe(sqlite),
        Npgsql.NpgsqlException postgres => PostgresJournalDatabase.Describe(postgres),
        _ => ex.Message,
    };

    /// <summary>Checks the file exists and is readable (the `report` verb never creates it).</summary>
    public void EnsureReadable()
    {
        if (!File.Exists(Path))
        {
            throw new JournalUnavailableException(Path, "no such file (is journal.path set, and has RpcShield run?)");
        }

        try
        {
            using var connection = Open(readOnly: true);
            var version = Convert.ToInt64(Scalar(connection, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
            if (version < 1)
            {
                throw new JournalUnavailableException(Path, "not an RpcShield journal (no schema)");
            }
        }
        catch (SqliteException ex)
        {
            throw new JournalUnavailableException(Path, Describe(ex), ex);
        }
    }

    public static void Execute(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static string Describe(SqliteException ex) => (ex.SqliteErrorCode & 0xff) switch
    {
        13 => "disk full",
        10 => $"I/O error ({ex.SqliteExtendedErrorCode})",
        26 => "not a SQLite database (file is corrupt or something else)",
        11 => "database disk image is malformed (corrupt)",
        5 or 6 => "locked by another process",
        8 => "read-only (check permissions)",
        14 => "cannot open the file (check the directory and permissions)",
        _ => $"SQLite error {ex.SqliteErrorCode}: {ex.Message}",
    };
}

/// <summary>The journal file cannot be used; the message names the file and the reason.</summary>
internal sealed class JournalUnavailableException : InvalidOperationException
{
    public JournalUnavailableException(string path, string reason, Exception? inner = null)
        : base($"journal {path}: {reason}", inner)
    {
        FilePath = path;
        Reason = reason;
    }

    public string FilePath { get; }

    /// <summary>The reason alone (no file name).</summary>
    public string Reason { get; init; }

    /// <summary>False for a full or failing disk: RpcShield starts with the journal down instead.</summary>
    public bool RefusesStart { get; init; } = true;
}
