using System.Diagnostics;
using System.Net.Sockets;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>
/// A real `redis-server` (Debian package `redis-server`) on 127.0.0.1 and an ephemeral port, with no
/// persistence (`--save "" --appendonly no`): a child process the test can kill mid-run.
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    /// <summary>Path of redis-server, or null when it is not installed.</summary>
    public static string? Executable { get; } =
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    public static async Task<RedisServer> StartAsync()
    {
        var port = PostgresCluster.FreePort();
        var start = new ProcessStartInfo(Executable ?? throw new InvalidOperationException("redis-server is not installed"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in (string[])["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    /// <summary>Kills the server at once (as a crash would).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}

/// <summary>A fact skipped (saying so) only when redis-server is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (RedisServer.Executable is null)
        {
            Skip = "redis-server is not installed: Debian package redis-server, installed by scripts/install-deps.sh";
        }
    }
}
