using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Hosting.Security;

namespace RpcShield.IntegrationTests.Hosting.Security;

/// <summary>
/// Attack: a client opens `max_connections` keep-alive connections and leaves them idle; Kestrel
/// kept each for its 2-minute keep-alive timeout and refused everyone else meanwhile. Real
/// sockets on loopback, bounded in count (25) and time.
/// </summary>
public sealed class IdleConnectionTests
{
    private const int MaxConnections = 20;

    [Fact]
    public async Task Idle_keep_alive_connections_give_way_when_max_connections_is_reached()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("node", node.Url)]).Replace("server: { listen: http://127.0.0.1:0 }", $"server: {{ listen: http://127.0.0.1:0, max_connections: {MaxConnections} }}", StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        var port = proxy.BaseAddress.Port;

        // The hog: every slot held by a connection that made one request and then sits idle.
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < MaxConnections; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                idle.Add(client);
                Assert.StartsWith("HTTP/1.1 200", await RequestAsync(client.GetStream()), StringComparison.Ordinal);
            }

            // Above the high-water mark (18 of 20) the least recently active idle connections were asked to close, and did.
            Assert.True(await ClosedByServerAsync(idle[0]), "the oldest idle connection was kept");
            Assert.True(await ClosedByServerAsync(idle[1]), "the second oldest idle connection was kept");

            // Newcomers are still served (each makes the least recently active idle connection give way).
            for (var i = 0; i < 5; i++)
            {
                using var newcomer = new TcpClient();
                await newcomer.ConnectAsync("127.0.0.1", port);
                var answer = await RequestAsync(newcomer.GetStream());
                Assert.True(answer.StartsWith("HTTP/1.1 200", StringComparison.Ordinal),
                    $"newcomer {i}: '{answer}', released {proxy.Services.GetRequiredService<IdleConnectionReleaser>().Released}");
            }

            // Newcomers made further idle connections give way; the most recently active one was kept.
            Assert.True(proxy.Services.GetRequiredService<IdleConnectionReleaser>().Released >= 3);
            Assert.StartsWith("HTTP/1.1 200", await RequestAsync(idle[^1].GetStream()), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var client in idle)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>One keep-alive GET /healthz; returns the response head and body (bounded).</summary>
    private static async Task<string> RequestAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await stream.WriteAsync("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray(), timeout.Token);
        var buffer = new byte[4096];
        var text = new StringBuilder();
        // The body "ok" is sent chunked or with a length: either way the response ends in one of these.
        while (!text.ToString().EndsWith("\r\n\r\nok", StringComparison.Ordinal) && !text.ToString().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    private static async Task<bool> ClosedByServerAsync(TcpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return await client.GetStream().ReadAsync(new byte[16], timeout.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
