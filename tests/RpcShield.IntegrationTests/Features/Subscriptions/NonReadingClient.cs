using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>
/// A WebSocket client that never reads: a raw socket with a tiny receive buffer, upgraded by
/// hand, used only to send. Models a bot that hangs while RpcShield keeps pushing to it.
/// </summary>
internal sealed class NonReadingClient : IDisposable
{
    private readonly Socket _socket;
    private readonly WebSocket _ws;

    private NonReadingClient(Socket socket, WebSocket ws)
    {
        _socket = socket;
        _ws = ws;
    }

    public static async Task<NonReadingClient> ConnectAsync(Uri httpBase)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(IPAddress.Loopback, httpBase.Port);
        var stream = new NetworkStream(socket, ownsSocket: false);
        var handshake = $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{httpBase.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(handshake));
        var response = new StringBuilder();
        var one = new byte[1];
        while (!response.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, await stream.ReadAsync(one));
            response.Append((char)one[0]);
        }

        Assert.StartsWith("HTTP/1.1 101", response.ToString(), StringComparison.Ordinal);
        var ws = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        return new NonReadingClient(socket, ws);
    }

    /// <summary>Sends without ever reading; stops quietly once RpcShield has dropped the connection.</summary>
    public async Task<int> SendAsync(IEnumerable<string> messages)
    {
        var sent = 0;
        try
        {
            foreach (var message in messages)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _ws.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
                sent++;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or SocketException)
        {
        }

        return sent;
    }

    public void Dispose()
    {
        _ws.Abort();
        _socket.Dispose();
    }
}
