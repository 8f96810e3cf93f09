using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// One `eth_subscribe` on one upstream's `ws_url`, on its own socket. Reports what happens
/// (subscribed, notifications in order, lost) to its feed's event channel; never throws.
/// </summary>
internal sealed class UpstreamSubscription : IAsyncDisposable
{
    /// <summary>Largest upstream message accepted (a full pending-tx or block notification is far smaller).</summary>
    private const int MaxMessageBytes = 16 * 1024 * 1024;

    private readonly SubscriptionKind _kind;
    private readonly string? _filterJson;
    private readonly ChannelWriter<FeedEvent> _events;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _keepAlive;
    private readonly CancellationTokenSource _stop = new();
    private readonly ClientWebSocket _socket = new();
    private Task? _run;

    public UpstreamSubscription(Upstream upstream, SubscriptionKind kind, string? filterJson, ChannelWriter<FeedEvent> events, TimeSpan connectTimeout, TimeSpan keepAlive)
    {
        Upstream = upstream;
        _kind = kind;
        _filterJson = filterJson;
        _events = events;
        _connectTimeout = connectTimeout;
        _keepAlive = keepAlive;
    }

    public Upstream Upstream { get; }

    /// <summary>The upstream's own subscription id (never shown to clients).</summary>
    public string? UpstreamId { get; private set; }

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>Drops the socket at once, as a network failure would (chaos `ws_disconnect` seam).</summary>
    public void Abort() => _socket.Abort();

    private async Task RunAsync()
    {
        var token = _stop.Token;
        string reason;
        try
        {
            _socket.Options.KeepAliveInterval = _keepAlive;
            _socket.Options.KeepAliveTimeout = _keepAlive;
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                connect.CancelAfter(_connectTimeout);
                await _socket.ConnectAsync(new Uri(Upstream.Options.WsUrl!), connect.Token).ConfigureAwait(false);
                await _socket.SendAsync(SubscribeRequest(), WebSocketMessageType.Text, true, connect.Token).ConfigureAwait(false);
            }

            reason = await ReadLoopAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            reason = "connect_timeout";
        }
        catch (WebSocketException ex)
        {
            reason = ex.WebSocketErrorCode == WebSocketError.Faulted || ex.InnerException is not null ? "disconnected" : "ws_" + ex.WebSocketErrorCode.ToString().ToLowerInvariant();
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or HttpRequestException or JsonException or InvalidOperationException)
        {
            reason = "disconnected";
        }

        try
        {
            await _events.WriteAsync(new FeedEvent(FeedEventKind.Lost, this, Reason: reason), token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Replaced or stopped meanwhile: nobody waits for this loss any more.
        }
    }

    private async Task<string> ReadLoopAsync(CancellationToken token)
    {
        while (true)
        {
            using var message = new PooledBuffer(8192);
            var result = await ReceiveMessageAsync(message, token).ConfigureAwait(false);
            if (result is null)
            {
                return "closed";
            }

            if (!result.Value)
            {
                return "message_too_large";
            }

            using var document = JsonDocument.Parse(message.Memory);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (root.TryGetProperty("method", out var method) && method.ValueEquals("eth_subscription"u8)
                && root.TryGetProperty("params", out var parameters) && parameters.TryGetProperty("result", out var payload))
            {
                var raw = Encoding.UTF8.GetBytes(payload.GetRawText());
                await _events.WriteAsync(new FeedEvent(FeedEventKind.Notification, this, raw), token).ConfigureAwait(false);
            }
            else if (root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt32() == 1 && UpstreamId is null)
            {
                if (!root.TryGetProperty("result", out var subscriptionId) || subscriptionId.ValueKind != JsonValueKind.String)
                {
                    return "subscribe_rejected";
                }

                UpstreamId = subscriptionId.GetString();
                await _events.WriteAsync(new FeedEvent(FeedEventKind.Subscribed, this), token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads one message into <paramref name="message"/>: null when closed, false when too large.</summary>
    private async Task<bool?> ReceiveMessageAsync(PooledBuffer message, CancellationToken token)
    {
        while (true)
        {
            var received = await _socket.ReceiveAsync(message.GetMemory(8192), token).ConfigureAwait(false);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Advance(received.Count);
            if (message.Length > MaxMessageBytes)
            {
                return false;
            }

            if (received.EndOfMessage)
            {
                return true;
            }
        }
    }

    private byte[] SubscribeRequest()
    {
        var kind = SubscriptionKinds.Wire(_kind);
        var text = _filterJson is null
            ? $$"""{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["{{kind}}"]}"""
            : $$"""{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["{{kind}}",{{_filterJson}}]}""";
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Unsubscribes upstream (best effort, bounded) and closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open && UpstreamId is { } upstreamId)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                var request = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":2,"method":"eth_unsubscribe","params":["{{upstreamId}}"]}""");
                await _socket.SendAsync(request, WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "unsubscribed", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                // The upstream is going away anyway; it drops the subscription with the socket.
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Abort();
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        _socket.Dispose();
        _stop.Dispose();
    }
}
