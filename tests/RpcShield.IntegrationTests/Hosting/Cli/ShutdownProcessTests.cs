using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Data.Sqlite;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Hosting.Cli;

/// <summary>
/// Attack: stopping took 30 s with one idle WebSocket client (Kestrel waited for it until the
/// host's default timeout), racing the 30 s kill of the shipped systemd unit and compose file and
/// the journal and priors flush. The built RpcShield.dll runs as a child process against anvil.
/// </summary>
public sealed class ShutdownProcessTests
{
    [Fact]
    public async Task Sigterm_closes_an_idle_websocket_with_1001_and_exits_within_seconds_with_the_journal_flushed()
    {
        await using var anvil = await AnvilNode.StartAsync();
        var directory = Directory.CreateTempSubdirectory("rpcshield-stop-");
        var port = FreePort();
        var journal = Path.Combine(directory.FullName, "journal.db");
        var config = Path.Combine(directory.FullName, "proxy.yaml");
        await File.WriteAllTextAsync(config, $$"""
            server: { listen: "http://127.0.0.1:{{port}}", shutdown_timeout: 3s }
            journal: { path: "{{journal}}", stats_interval: 1h }
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - { name: node, url: "{{anvil.Url}}" }
                routing:
                  health: { interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2 }
            """);

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "RpcShield.dll"), "run", "--config", config])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            await Rpc.WaitUntilAsync(async () =>
            {
                try
                {
                    using var ready = await http.GetAsync("/readyz");
                    return ready.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the process to serve", timeoutMs: 60_000, diagnostics: () => Task.FromResult(Captured(output)));

            // Something to flush: an outcome report goes to the journal's queue.
            using (var report = await http.PostAsync("/", new StringContent(
                """{"jsonrpc":"2.0","id":1,"method":"rpcshield_reportOutcome","params":[{"strategy":"stop-test","block":"0x20","expectedProfit":0.5,"outcome":"rpc_failure"}]}""",
                Encoding.UTF8, "application/json")))
            {
                Assert.Contains("\"result\"", await report.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using var socket = new ClientWebSocket();
            using (var connect = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
            {
                await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), connect.Token);
            }

            var closed = ReceiveCloseAsync(socket);
            var stopwatch = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            var status = await closed.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);

            using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
            {
                await process.WaitForExitAsync(exit.Token);
            }

            // Well inside the shipped stop timeouts (10 s); without the fix this took the host's 30 s.
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(8), $"stopping took {stopwatch.Elapsed}\n{Captured(output)}");
            Assert.Equal(0, process.ExitCode);

            using var connection = new SqliteConnection($"Data Source={journal};Mode=ReadOnly;Pooling=False");
            connection.Open();
            Assert.Equal(1L, Scalar(connection, "SELECT COUNT(*) FROM journal WHERE kind = 'outcome'"));
            Assert.Equal(1L, Scalar(connection, "SELECT COUNT(*) FROM upstream_priors WHERE upstream = 'node'"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            directory.Delete(recursive: true);
        }
    }

    private static async Task<WebSocketCloseStatus?> ReceiveCloseAsync(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return result.CloseStatus;
            }
        }
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private static string Captured(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
