using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// One client WebSocket. Each message is a JSON-RPC envelope (single or batch) processed by the
/// same <see cref="RpcProcessor"/> as HTTP (several messages concurrently; replies carry the
/// client's ids). Everything sent goes through a bounded queue: a client that stops reading lets
/// it fill and is disconnected instead of growing memory. On close its subscriptions are removed
/// (the last client of a shared upstream subscription unsubscribes it upstream).
/// </summary>
internal sealed partial class WsClientConnection
{
    /// <summary>Messages of one connection processed at the same time; further ones wait to be read.</summary>
    private const int MaxConcurrentMessages = 64;
    private const int InternalError = -32603;

    private readonly WebSocket _socket;
    private readonly ChainRuntime _chainAtConnect;
    private readonly ChainRegistry _chains;
    private readonly RpcProcessor _processor;
    private readonly SubscriptionHub _hub;
    private readonly ServerOptions _server;
    private readonly HttpContext _upgrade;
    private readonly ILogger _logger;
    private readonly Channel<byte[]> _outbox;
    private Task _sender = Task.CompletedTask;
    private volatile bool _closing;
    private readonly CancellationTokenSource _closed = new();
    private readonly SemaphoreSlim _inFlight = new(MaxConcurrentMessages);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ClientSubscription> _subscriptions = new(StringComparer.OrdinalIgnoreCase);
    private int _slow;

    public WsClientConnection(WebSocket socket, ChainRuntime chain, ChainRegistry chains, RpcProcessor processor, SubscriptionHub hub, ServerOptions server, HttpContext upgrade, ILogger logger)
    {
        _socket = socket;
        _chainAtConnect = chain;
        _chains = chains;
        _processor = processor;
        _hub = hub;
        _server = server;
        _upgrade = upgrade;
        _logger = logger;
        _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(server.Websocket.SendQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public string Chain => _chainAtConnect.Name;

    public int SubscriptionCount
    {
        get
        {
            lock (_lock)
            {
                return _subscriptions.Count;
            }
        }
    }

    public async Task RunAsync(CancellationToken aborted)
    {
        _hub.Register(this);
        using var link = CancellationTokenSource.CreateLinkedTokenSource(aborted, _closed.Token);
        var token = link.Token;
        _sender = SendLoopAsync(token);
        try
        {
            await ReceiveLoopAsync(token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException or ConnectionAbortedException)
        {
            // Client went away, was dropped as slow, or the host is stopping.
        }
        finally
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            RemoveAllSubscriptions();
            _hub.Unregister(this);
            _outbox.Writer.TryComplete();
            await _sender.ConfigureAwait(false);
            // Let in-flight messages finish (they are cancelled) before the semaphore goes.
            for (var i = 0; i < MaxConcurrentMessages; i++)
            {
                await _inFlight.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            _inFlight.Dispose();
            _closed.Dispose();
        }
    }

    /// <summary>Drops the connection at once (slow client, chaos, shutdown).</summary>
    public void Abort()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Abort();
    }

    /// <summary>
    /// Shutdown: sends what is queued, then a close frame with 1001 (going away), so clients
    /// reconnect elsewhere at once instead of holding the stop until the host's timeout. A client
    /// that does not answer the close within <paramref name="grace"/> is dropped.
    /// </summary>
    public async Task GoAwayAsync(TimeSpan grace)
    {
        _closing = true;
        _outbox.Writer.TryComplete();
        try
        {
            await _sender.WaitAsync(grace).ConfigureAwait(false);
            await CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "server shutting down").ConfigureAwait(false);
            await Task.Delay(grace, _closed.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
        }

        Abort();
    }

    /// <summary>Queues a message; a full queue means the client does not read: it is disconnected.</summary>
    public void TryEnqueue(byte[] message)
    {
        if (_outbox.Writer.TryWrite(message) || _closed.IsCancellationRequested || _closing)
        {
            return;
        }

        if (Interlocked.Exchange(ref _slow, 1) == 0)
        {
            _hub.RecordSlowClient(this);
            Abort();
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken token)
    {
        var limit = _server.MaxBodyBytes;
        while (_socket.State == WebSocketState.Open)
        {
            var message = new PooledBuffer(4096);
            var tooLarge = false;
            ValueWebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(message.GetMemory(4096), token).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    message.Dispose();
                    await CloseAsync(WebSocketCloseStatus.NormalClosure, "bye").ConfigureAwait(false);
                    return;
                }

                message.Advance(received.Count);
                tooLarge = message.Length > limit;
            }
            while (!received.EndOfMessage && !tooLarge);

            if (tooLarge)
            {
                message.Dispose();
                TryEnqueue(RpcResponseWriter.ErrorBytes(default, RpcErrorCodes.TooLarge, $"Message too large: limit is {limit} bytes"));
                // Nothing goes out after the error; once the sender has put it on the wire, close
                // (a close frame sent beside a pending send would break the socket instead).
                _closing = true;
                _outbox.Writer.TryComplete();
                await _sender.ConfigureAwait(false);
                await CloseAsync(WebSocketCloseStatus.MessageTooBig, "message too large").ConfigureAwait(false);
                return;
            }

            await _inFlight.WaitAsync(token).ConfigureAwait(false);
            _ = ProcessAsync(message, token);
        }
    }

    private async Task ProcessAsync(PooledBuffer message, CancellationToken token)
    {
        try
        {
            var scope = new SubscribeScope(this);
            _hub.EnterScope(scope);
            var chain = _chains.TryGet(Chain, out var current) ? current : _chainAtConnect;
            var call = new RpcCall(chain, _upgrade.Request.Headers, RpcTransport.WebSocket) { HttpContext = _upgrade };
            using var reply = await _processor.ProcessAsync(call, message.Memory, _server.MaxBatchItems, token).ConfigureAwait(false);
            if (!reply.IsEmpty)
            {
                var output = new ArrayBufferWriter<byte>((int)Math.Min(reply.Length, int.MaxValue));
                reply.CopyTo(output);
                TryEnqueue(output.WrittenSpan.ToArray());
            }

            scope.ActivateCreated();
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            LogMessageFailed(Chain, ex.GetType().Name);
            TryEnqueue(RpcResponseWriter.ErrorBytes(default, InternalError, "Internal error"));
        }
        finally
        {
            message.Dispose();
            _inFlight.Release();
        }
    }

    private async Task SendLoopAsync(CancellationToken token)
    {
        try
        {
            await foreach (var message in _outbox.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException or ConnectionAbortedException or ObjectDisposedException)
        {
            Abort();
        }
    }

    private async Task CloseAsync(WebSocketCloseStatus status, string description)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _socket.CloseOutputAsync(status, description, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // InvalidOperationException: a close already sent or a send still pending (shutdown of a slow client).
        }
    }

    /// <summary>Adds a subscription to this connection, enforcing the per-connection limit.</summary>
    public ClientSubscription? Subscribe(SubscriptionKind kind, string? filter, out string? error)
    {
        var limit = _server.Websocket.MaxSubscriptionsPerConnection;
        lock (_lock)
        {
            if (_closed.IsCancellationRequested)
            {
                error = "connection closing";
                return null;
            }

            if (_subscriptions.Count >= limit)
            {
                error = $"subscription limit reached: {limit} per connection (server.websocket.max_subscriptions_per_connection)";
                return null;
            }

            var subscription = _hub.TrySubscribe(this, kind, filter, out error);
            if (subscription is not null)
            {
                _subscriptions[subscription.Id] = subscription;
            }

            return subscription;
        }
    }

    public bool Unsubscribe(string id)
    {
        ClientSubscription? subscription;
        lock (_lock)
        {
            if (!_subscriptions.Remove(id, out subscription))
            {
                return false;
            }
        }

        _hub.Unsubscribe(subscription);
        return true;
    }

    private void RemoveAllSubscriptions()
    {
        List<ClientSubscription> all;
        lock (_lock)
        {
            all = [.. _subscriptions.Values];
            _subscriptions.Clear();
        }

        foreach (var subscription in all)
        {
            _hub.Unsubscribe(subscription);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Chain {Chain}: WebSocket message failed ({Error})")]
    private partial void LogMessageFailed(string chain, string error);
}
