using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>A JSON-RPC client over System.Net.WebSockets.ClientWebSocket: replies by id, notifications by subscription id.</summary>
internal sealed class WsTestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Dictionary<string, TaskCompletionSource<JsonElement>> _pending = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _reader;
    private int _id;

    public Channel<JsonElement> Notifications { get; } = Channel.CreateUnbounded<JsonElement>();

    public Channel<JsonElement> Unmatched { get; } = Channel.CreateUnbounded<JsonElement>();

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<WsTestClient> ConnectAsync(Uri httpBase, string path = "/")
    {
        var client = new WsTestClient();
        var uri = new UriBuilder(httpBase) { Scheme = "ws", Path = path }.Uri;
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        client._reader = client.ReadLoopAsync();
        return client;
    }

    public Task SendRawAsync(string text) => _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>Sends a request with a fresh numeric id and waits for the reply with that id.</summary>
    public async Task<JsonElement> CallAsync(string method, string @params = "[]")
    {
        var id = Interlocked.Increment(ref _id);
        var reply = Expect(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await SendRawAsync($$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}","params":{{@params}}}""");
        return await reply.WaitAsync(TimeSpan.FromSeconds(15));
    }

    public async Task<string> SubscribeAsync(string @params)
    {
        var reply = await CallAsync("eth_subscribe", @params);
        Assert.True(reply.TryGetProperty("result", out var id), "subscribe failed: " + reply);
        return id.GetString()!;
    }

    /// <summary>Registers interest in the reply with this raw id (JSON text of the id).</summary>
    public Task<JsonElement> Expect(string rawId)
    {
        var source = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _pending[rawId] = source;
        }

        return source.Task;
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), _stop.Token);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var root = JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("method", out var method) && method.GetString() == "eth_subscription")
                {
                    Notifications.Writer.TryWrite(root);
                    continue;
                }

                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out var id))
                {
                    TaskCompletionSource<JsonElement>? source;
                    lock (_lock)
                    {
                        _pending.Remove(id.GetRawText(), out source);
                    }

                    if (source is not null)
                    {
                        source.TrySetResult(root);
                        continue;
                    }
                }

                Unmatched.Writer.TryWrite(root);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            Notifications.Writer.TryComplete();
            Unmatched.Writer.TryComplete();
        }
    }

    /// <summary>Next notification within the timeout (null on timeout or close).</summary>
    public async Task<JsonElement?> NextNotificationAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await Notifications.Reader.ReadAsync(cts.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            return null;
        }
    }

    public async Task CloseAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        if (_reader is not null)
        {
            await _reader;
        }

        _socket.Dispose();
        _stop.Dispose();
    }
}
