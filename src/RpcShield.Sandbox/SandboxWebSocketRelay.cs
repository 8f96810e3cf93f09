using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;

namespace RpcShield.Sandbox;

/// <summary>
/// A sandbox node's WebSocket: the client's socket relayed message by message to the sandbox anvil's
/// own WebSocket (anvil serves it on its HTTP port), so `ws_url` can point at a node endpoint.
/// Messages from the chain are dropped while the node is stalled (a hung node says nothing);
/// stopping the node drops the socket.
/// </summary>
internal static class SandboxWebSocketRelay
{
    private const int MaxMessageBytes = 16 * 1024 * 1024;

    public static async Task RelayAsync(HttpContext context, Uri anvilHttp, Func<bool> silent, CancellationToken nodeStopped)
    {
        var target = new UriBuilder(anvilHttp) { Scheme = anvilHttp.Scheme == "https" ? "wss" : "ws" }.Uri;
        using var upstream = new ClientWebSocket();
        using var link = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, nodeStopped);
        var token = link.Token;
        try
        {
            await upstream.ConnectAsync(target, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return;
        }

        using var client = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var toChain = PumpAsync(client, upstream, () => false, token);
        var toClient = PumpAsync(upstream, client, silent, token);
        await Task.WhenAny(toChain, toClient).ConfigureAwait(false);
        // Either side gone (or the node stopped): drop both, as a dead node's socket would.
        await link.CancelAsync().ConfigureAwait(false);
        client.Abort();
        upstream.Abort();
        await Task.WhenAll(toChain, toClient).ConfigureAwait(false);
    }

    private static async Task PumpAsync(WebSocket from, WebSocket to, Func<bool> drop, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult received;
                do
                {
                    received = await from.ReceiveAsync(buffer.AsMemory(), token).ConfigureAwait(false);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    message.Write(buffer, 0, received.Count);
                    if (message.Length > MaxMessageBytes)
                    {
                        return;
                    }
                }
                while (!received.EndOfMessage);

                if (!drop())
                {
                    await to.SendAsync(message.GetBuffer().AsMemory(0, (int)message.Length), received.MessageType, true, token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Either side went away: the caller drops both.
        }
    }
}
