using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster (Debian package `postgresql`) on 127.0.0.1 and an ephemeral port:
/// `initdb` into a temp folder the `postgres` user owns, `pg_ctl` to start and stop it (both refuse
/// root, so they run as `postgres` through `runuser` when the tests run as root), removed on dispose.
/// Host connections need the password (scram), so tests see a real secret in the connection string.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    public const string Password = "pgsecret-5d1c9e7a";

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"rpcshield-pg-{Guid.NewGuid():N}");

    public int Port { get; private set; }

    private string Data => Path.Combine(_root, "data");

    /// <summary>The directory of initdb/pg_ctl, or null when PostgreSQL is not installed.</summary>
    public static string? BinDirectory { get; } = FindBin();

    /// <summary>Connection string of a database of this cluster (password included, as a user would write it).</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Database={database};Username=postgres;Password={Password};Timeout=3";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var password = Path.Combine(_root, "pw");
        await File.WriteAllTextAsync(password, Password);
        if (Environment.UserName == "root")
        {
            // The postgres user must own the folder it initialises and the password file it reads.
            await RunAsync("chown", ["-R", "postgres:postgres", _root]);
        }

        await RunPostgresAsync("initdb", ["-D", Data, "-U", "postgres", "--auth-host=scram-sha-256", "--auth-local=trust", $"--pwfile={password}", "--no-sync", "-E", "UTF8", "--locale=C"]);
        File.Delete(password);
        Port = FreePort();
        await StartAsync();
    }

    public Task StartAsync() => RunPostgresAsync("pg_ctl", ["-D", Data, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60",
        "-o", $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", "start"]);

    /// <summary>Stops the server (fast: open connections are cut, as in a crash or failover).</summary>
    public Task StopAsync() => RunPostgresAsync("pg_ctl", ["-D", Data, "-m", "fast", "-w", "-t", "60", "stop"]);

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, string? setupSql = null)
    {
        await using (var admin = new NpgsqlConnection(Unpooled(ConnectionString("postgres"))))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = ConnectionString(name);
        if (setupSql is not null)
        {
            await ExecuteAsync(connectionString, setupSql);
        }

        return connectionString;
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The test's own connections are not pooled: a stopped server leaves no dead connection behind for the next check.</summary>
    private static string Unpooled(string connectionString) => connectionString + ";Pooling=false";

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunPostgresAsync("pg_ctl", ["-D", Data, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_root, recursive: true);
    }

    private static string? FindBin()
    {
        const string Base = "/usr/lib/postgresql";
        if (!Directory.Exists(Base))
        {
            return null;
        }

        return Directory.GetDirectories(Base)
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            .OrderByDescending(d => d, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    private static Task RunPostgresAsync(string tool, string[] arguments)
    {
        var path = Path.Combine(BinDirectory ?? throw new InvalidOperationException("PostgreSQL is not installed"), tool);
        return Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments])
            : RunAsync(path, arguments);
    }

    private static async Task RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited {process.ExitCode}: {await errors}{await output}");
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A fact skipped (saying so) only when PostgreSQL's server binaries are not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresCluster.BinDirectory is null)
        {
            Skip = "PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin) are not installed: Debian package postgresql, installed by scripts/install-deps.sh";
        }
    }
}
