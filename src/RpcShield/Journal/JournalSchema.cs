namespace RpcShield.Journal;

/// <summary>
/// The journal schema and its migrations, one list for both stores: step N brings a database at
/// version N − 1 to version N. SQLite keeps the version in `PRAGMA user_version`, PostgreSQL in the
/// `rpcshield_schema` table. Only the first step differs by dialect (column types, row ids); later
/// steps are plain SQL both understand. A database at a higher version than <see cref="Version"/>
/// was written by a newer RpcShield and is refused.
/// </summary>
internal static class JournalSchema
{
    public const int Version = 2;

    private const string SqliteV1 = """
        CREATE TABLE IF NOT EXISTS journal (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            ts_ms           INTEGER NOT NULL,
            kind            TEXT    NOT NULL,
            chain           TEXT,
            strategy        TEXT,
            head_block      INTEGER,
            method          TEXT,
            reason          TEXT,
            latency_ms      REAL,
            upstream        TEXT,
            builder         TEXT,
            bundle_hash     TEXT,
            tx_hash         TEXT,
            competitor_tx   TEXT,
            expected_profit REAL,
            outcome         TEXT,
            note            TEXT
        );
        CREATE INDEX IF NOT EXISTS ix_journal_ts ON journal (ts_ms);
        CREATE INDEX IF NOT EXISTS ix_journal_kind ON journal (kind, ts_ms);
        CREATE TABLE IF NOT EXISTS upstream_samples (
            ts_ms      INTEGER NOT NULL,
            chain      TEXT    NOT NULL,
            upstream   TEXT    NOT NULL,
            healthy    INTEGER NOT NULL,
            ok         INTEGER NOT NULL,
            failed     INTEGER NOT NULL,
            ewma_ms    REAL,
            p50_ms     REAL,
            p90_ms     REAL,
            p99_ms     REAL
        );
        CREATE INDEX IF NOT EXISTS ix_upstream_samples_ts ON upstream_samples (ts_ms);
        CREATE TABLE IF NOT EXISTS upstream_priors (
            chain        TEXT NOT NULL,
            upstream     TEXT NOT NULL,
            ewma_ms      REAL NOT NULL,
            p50_ms       REAL,
            p90_ms       REAL,
            error_ratio  REAL NOT NULL,
            ok_total     INTEGER NOT NULL,
            failed_total INTEGER NOT NULL,
            updated_ms   INTEGER NOT NULL,
            PRIMARY KEY (chain, upstream)
        );
        CREATE TABLE IF NOT EXISTS builder_priors (
            chain      TEXT NOT NULL,
            builder    TEXT NOT NULL,
            included   INTEGER NOT NULL,
            total      INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (chain, builder)
        );
        """;

    private const string PostgresV1 = """
        CREATE TABLE IF NOT EXISTS journal (
            id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ts_ms           BIGINT NOT NULL,
            kind            TEXT   NOT NULL,
            chain           TEXT,
            strategy        TEXT,
            head_block      BIGINT,
            method          TEXT,
            reason          TEXT,
            latency_ms      DOUBLE PRECISION,
            upstream        TEXT,
            builder         TEXT,
            bundle_hash     TEXT,
            tx_hash         TEXT,
            competitor_tx   TEXT,
            expected_profit DOUBLE PRECISION,
            outcome         TEXT,
            note            TEXT
        );
        CREATE INDEX IF NOT EXISTS ix_journal_ts ON journal (ts_ms);
        CREATE INDEX IF NOT EXISTS ix_journal_kind ON journal (kind, ts_ms);
        CREATE TABLE IF NOT EXISTS upstream_samples (
            ts_ms      BIGINT  NOT NULL,
            chain      TEXT    NOT NULL,
            upstream   TEXT    NOT NULL,
            healthy    INTEGER NOT NULL,
            ok         INTEGER NOT NULL,
            failed     INTEGER NOT NULL,
            ewma_ms    DOUBLE PRECISION,
            p50_ms     DOUBLE PRECISION,
            p90_ms     DOUBLE PRECISION,
            p99_ms     DOUBLE PRECISION
        );
        CREATE INDEX IF NOT EXISTS ix_upstream_samples_ts ON upstream_samples (ts_ms);
        CREATE TABLE IF NOT EXISTS upstream_priors (
            chain        TEXT             NOT NULL,
            upstream     TEXT             NOT NULL,
            ewma_ms      DOUBLE PRECISION NOT NULL,
            p50_ms       DOUBLE PRECISION,
            p90_ms       DOUBLE PRECISION,
            error_ratio  DOUBLE PRECISION NOT NULL,
            ok_total     BIGINT           NOT NULL,
            failed_total BIGINT           NOT NULL,
            updated_ms   BIGINT           NOT NULL,
            PRIMARY KEY (chain, upstream)
        );
        CREATE TABLE IF NOT EXISTS builder_priors (
            chain      TEXT   NOT NULL,
            builder    TEXT   NOT NULL,
            included   BIGINT NOT NULL,
            total      BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL,
            PRIMARY KEY (chain, builder)
        );
        """;

    // Version 2: every row names the instance that wrote it (a fleet shares one journal).
    private const string V2 = """
        ALTER TABLE journal ADD COLUMN instance TEXT;
        ALTER TABLE upstream_samples ADD COLUMN instance TEXT;
        CREATE INDEX IF NOT EXISTS ix_journal_instance ON journal (instance, ts_ms);
        """;

    /// <summary>The SQL of migration step <paramref name="version"/> (1 … <see cref="Version"/>).</summary>
    public static string Step(int version, bool postgres) => version switch
    {
        1 => postgres ? PostgresV1 : SqliteV1,
        2 => V2,
        _ => throw new ArgumentOutOfRangeException(nameof(version)),
    };
}
