using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Upstreams.Health;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>Identity of a shared upstream subscription: one per chain, kind and filter.</summary>
internal readonly record struct FeedKey(string Chain, SubscriptionKind Kind, string? Filter);

/// <summary>
/// One upstream subscription shared by every client subscription with the same chain, kind and
/// filter. Holds it on the best-ranked upstream with a `ws_url`; when that socket drops, stalls
/// (no notification for `stall_after` × `block_time`; sockets are also pinged) or its upstream turns
/// unhealthy or lagging, it subscribes on the next-ranked upstream and repairs the stream: missed
/// heads are fetched in order, missed logs are backfilled with `eth_getLogs`, nothing is repeated.
/// With no WebSocket upstream to subscribe on (none has a `ws_url`, or every one failed), `newHeads`
/// and `logs` are synthesised from the chain's <see cref="HttpHeadPoller"/> (logs read per block
/// hash) until a WebSocket subscription is confirmed again.
/// All events are handled on one loop, so delivery order is the order of the stream.
/// </summary>
internal sealed partial class SubscriptionFeed
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly ChainRegistry _chains;
    private readonly UpstreamSender _sender;
    private readonly SubscriptionHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<FeedEvent> _events = Channel.CreateBounded<FeedEvent>(new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Upstream> _avoid = [];
    private readonly HeadSequencer _heads = new();
    private readonly LogDeduplicator _logs = new();
    private readonly RecentBlockLogs _blockLogs = new();
    private readonly HashSet<string> _pendingSeen = new(StringComparer.Ordinal);
    private readonly Queue<string> _pendingOrder = new();
    private volatile ClientSubscription[] _clients = [];
    private volatile UpstreamSubscription? _current;
    private volatile HeadPollLease? _poll;
    private bool _unfedWarned;
    private Upstream? _lost;
    private string? _lostReason;
    private bool _everSubscribed;
    private long _lastEventAt;
    private long _retryAt;
    private long _startBlock = -1;
    private Task? _run;

    public SubscriptionFeed(FeedKey key, ChainRegistry chains, UpstreamSender sender, SubscriptionHub hub, TimeProvider time, ILogger logger)
    {
        Key = key;
        _chains = chains;
        _sender = sender;
        _hub = hub;
        _time = time;
        _logger = logger;
    }

    public FeedKey Key { get; }

    public int ClientCount => _clients.Length;

    /// <summary>The upstream currently serving (null while connecting or when none is available); when polled, the one that answered the last poll.</summary>
    public string? CurrentUpstream => _current is { UpstreamId: not null } current ? current.Upstream.Name : _poll?.Poller.ServedBy?.Name;

    /// <summary>How the feed is served: `ws` (an upstream subscription), `http_poll` (synthesised from polling) or null (neither yet).</summary>
    public string? Source => _current is { UpstreamId: not null } ? "ws" : _poll is not null ? "http_poll" : null;

    public void Add(ClientSubscription client)
    {
        lock (_gate)
        {
            _clients = [.. _clients, client];
        }
    }

    /// <summary>Removes a client; returns how many remain.</summary>
    public int Remove(ClientSubscription client)
    {
        lock (_gate)
        {
            _clients = _clients.Where(c => c != client).ToArray();
            return _clients.Length;
        }
    }

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>Drops the current upstream socket as a network failure would (chaos seam).</summary>
    public bool AbortUpstream(string? upstream)
    {
        var current = _current;
        if (current is null || (upstream is not null && current.Upstream.Name != upstream))
        {
            return false;
        }

        current.Abort();
        return true;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        if (_current is { } current)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        StopPolling();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var ticker = TickAsync(token);
        try
        {
            Connect();
            await foreach (var ev in _events.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                try
                {
                    await HandleAsync(ev, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
                {
                    LogBadNotification(Key.Chain, ev.Source?.Upstream.Name ?? "-", ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }

        await ticker.ConfigureAwait(false);
    }

    private async Task TickAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(TickInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                _events.Writer.TryWrite(FeedEvent.Tick);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async ValueTask HandleAsync(FeedEvent ev, CancellationToken token)
    {
        if (ev.Kind == FeedEventKind.Tick)
        {
            Check();
            return;
        }

        if (ev.Kind is FeedEventKind.PollConfirmed or FeedEventKind.PolledHead)
        {
            if (ev.Poll == _poll && _current is not { UpstreamId: not null })
            {
                await OnPolledAsync(ev, token).ConfigureAwait(false);
            }

            return;
        }

        if (ev.Source is null || ev.Source != _current)
        {
            return; // a late event from an upstream subscription already replaced
        }

        switch (ev.Kind)
        {
            case FeedEventKind.Subscribed:
                await OnSubscribedAsync(ev.Source, token).ConfigureAwait(false);
                break;
            case FeedEventKind.Notification:
                _lastEventAt = _time.GetTimestamp();
                await OnNotificationAsync(ev.Payload!, token).ConfigureAwait(false);
                break;
            case FeedEventKind.Lost:
                Switch(ev.Reason ?? "disconnected");
                break;
        }
    }

    private void Check()
    {
        var current = _current;
        var now = _time.GetTimestamp();
        if (current is null)
        {
            if (now >= _retryAt)
            {
                Connect();
            }

            return;
        }

        var options = Options;
        var window = options.BlockTime * options.StallAfter;
        var silent = _time.GetElapsedTime(_lastEventAt);
        if (current.UpstreamId is null && silent > window)
        {
            Switch("connect_timeout");
        }
        else if (Key.Kind == SubscriptionKind.NewHeads && silent > window)
        {
            Switch("stalled");
        }
        else if (current.Upstream.Health.Status is HealthStatus.Unhealthy or HealthStatus.Lagging or HealthStatus.WrongChain && HasAlternative(current.Upstream))
        {
            Switch(current.Upstream.Health.Status.ToString().ToLowerInvariant());
        }
    }

    private SubscriptionOptions Options => _chains.TryGet(Key.Chain, out var chain) ? chain.Options.Routing.Subscriptions : new SubscriptionOptions();

    private bool HasAlternative(Upstream current) => Candidates().Any(u => u != current);

    private Upstream[] Candidates()
    {
        if (!_chains.TryGet(Key.Chain, out var chain))
        {
            return [];
        }

        return chain.Candidates("eth_subscribe", 64).Where(u => !string.IsNullOrEmpty(u.Options.WsUrl)).ToArray();
    }

    private void Switch(string reason)
    {
        var old = _current;
        _current = null;
        if (old is not null)
        {
            _avoid.Add(old.Upstream);
            if (old.UpstreamId is not null)
            {
                _lost = old.Upstream;
                _lostReason = reason;
                _heads.SourceChanged();
                LogUpstreamLost(Key.Chain, SubscriptionKinds.Wire(Key.Kind), old.Upstream.Name, reason);
                _hub.RecordLoss(Key.Chain, old.Upstream, reason, _heads.LastDelivered);
            }
            else
            {
                LogConnectFailed(Key.Chain, SubscriptionKinds.Wire(Key.Kind), old.Upstream.Name, reason);
            }

            _ = old.DisposeAsync().AsTask();
        }

        Connect();
    }

    private void Connect()
    {
        var candidates = Candidates();
        var next = candidates.FirstOrDefault(u => !_avoid.Contains(u));
        if (next is null && candidates.Length > 0)
        {
            // Every routable upstream failed since the last good subscription: start over from
            // the best one after a pause instead of spinning on refused connections.
            _avoid.Clear();
        }

        if (next is null)
        {
            _retryAt = _time.GetTimestamp() + (long)(RetryDelay.TotalSeconds * _time.TimestampFrequency);
            StartPolling();
            return;
        }

        var routing = _chains.TryGet(Key.Chain, out var chain) ? chain.Options.Routing : new RoutingOptions();
        var window = routing.Subscriptions.BlockTime * routing.Subscriptions.StallAfter;
        // Socket pings catch a stall on feeds that may be silent for long (logs, pending txs);
        // newHeads is caught earlier by the stall window itself.
        var subscription = new UpstreamSubscription(next, Key.Kind, Key.Filter, _events.Writer, routing.Timeouts.PerAttempt, window);
        _current = subscription;
        _lastEventAt = _time.GetTimestamp();
        subscription.Start();
    }

    private async ValueTask OnSubscribedAsync(UpstreamSubscription source, CancellationToken token)
    {
        _lastEventAt = _time.GetTimestamp();
        _avoid.Clear();
        if (_poll is not null)
        {
            // A WebSocket subscription takes over from polling: what polling delivered is final.
            StopPolling();
            _heads.SourceChanged();
            _lost = null;
            _lostReason = "ws_available";
        }
        if (!_everSubscribed)
        {
            _everSubscribed = true;
            if (Key.Kind == SubscriptionKind.Logs)
            {
                _startBlock = await BlockNumberAsync(source.Upstream, token).ConfigureAwait(false);
            }

            return;
        }

        _hub.RecordResubscription(Key.Chain, _lost, source.Upstream, _lostReason ?? "lost");
        LogResubscribed(Key.Chain, SubscriptionKinds.Wire(Key.Kind), _lost?.Name ?? "-", source.Upstream.Name, _heads.LastDelivered);
        if (Key.Kind == SubscriptionKind.Logs)
        {
            await BackfillLogsAsync(source.Upstream, token).ConfigureAwait(false);
        }
    }

    private async ValueTask OnNotificationAsync(byte[] payload, CancellationToken token)
    {
        switch (Key.Kind)
        {
            case SubscriptionKind.NewHeads:
                await OnHeadAsync(payload, token).ConfigureAwait(false);
                break;
            case SubscriptionKind.Logs:
                using (var document = JsonDocument.Parse(payload))
                {
                    if (!LogRef.TryParse(document.RootElement, out var log) || _logs.ShouldDeliver(log))
                    {
                        Deliver(payload);
                    }
                }

                break;
            default:
                var key = Encoding.UTF8.GetString(payload);
                if (_pendingSeen.Add(key))
                {
                    _pendingOrder.Enqueue(key);
                    if (_pendingOrder.Count > 8192)
                    {
                        _pendingSeen.Remove(_pendingOrder.Dequeue());
                    }

                    Deliver(payload);
                }

                break;
        }
    }

    private async ValueTask OnHeadAsync(byte[] payload, CancellationToken token)
    {
        long number;
        string? hash;
        using (var document = JsonDocument.Parse(payload))
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("number", out var n) || !JsonRpc.HexQuantity.TryParse(n.GetString(), out number))
            {
                Deliver(payload);
                return;
            }

            hash = root.TryGetProperty("hash", out var h) ? h.GetString() : null;
        }

        var options = Options;
        var decision = _heads.Decide(number, hash, options.MaxGapBlocks);
        if (decision == HeadDecision.Drop)
        {
            return;
        }

        if (decision == HeadDecision.FillGap)
        {
            for (var block = _heads.GapFrom; block <= _heads.GapTo; block++)
            {
                var header = await FetchHeaderAsync(block, token).ConfigureAwait(false);
                if (header is null)
                {
                    LogGapUnfilled(Key.Chain, block, number);
                    break;
                }

                Deliver(header.Value.Payload);
                _heads.Delivered(block, header.Value.Hash);
            }
        }
        else if (_heads.LastDelivered >= 0 && number > _heads.LastDelivered + 1)
        {
            LogGapTooLarge(Key.Chain, _heads.LastDelivered, number, options.MaxGapBlocks);
        }

        Deliver(payload);
        _heads.Delivered(number, hash);
    }

    private void StartPolling()
    {
        if (_poll is not null)
        {
            return;
        }

        if (Key.Kind == SubscriptionKind.NewPendingTransactions)
        {
            // A node's mempool cannot be followed over HTTP: only a WebSocket upstream can feed this.
            if (!_unfedWarned)
            {
                _unfedWarned = true;
                LogPendingUnfed(Key.Chain);
            }

            return;
        }

        _poll = _hub.AttachPoll(Key.Chain, _events.Writer);
        LogPolling(Key.Chain, SubscriptionKinds.Wire(Key.Kind), HttpHeadPoller.IntervalFor(Options).TotalMilliseconds);
    }

    private void StopPolling()
    {
        if (_poll is { } poll)
        {
            _poll = null;
            _hub.DetachPoll(poll);
        }
    }

    private async ValueTask OnPolledAsync(FeedEvent ev, CancellationToken token)
    {
        var block = ev.Block!;
        if (ev.Kind == FeedEventKind.PollConfirmed)
        {
            if (!_everSubscribed)
            {
                // Like a node's subscription: the head at subscribe time is not a new head.
                _everSubscribed = true;
                _startBlock = block.Number;
                return;
            }

            // Taking over from a lost WebSocket subscription: repair the stream up to the current head.
            if (block.ServedBy is { } servedBy)
            {
                _hub.RecordResubscription(Key.Chain, _lost, servedBy, _lostReason ?? "lost");
            }

            LogResubscribed(Key.Chain, SubscriptionKinds.Wire(Key.Kind), _lost?.Name ?? "-", "http polling", _heads.LastDelivered);
            if (Key.Kind == SubscriptionKind.NewHeads)
            {
                await OnHeadAsync(block.Header, token).ConfigureAwait(false);
            }
            else if (block.ServedBy is { } source)
            {
                await BackfillLogsAsync(source, token).ConfigureAwait(false);
            }

            return;
        }

        if (Key.Kind == SubscriptionKind.NewHeads)
        {
            await OnHeadAsync(block.Header, token).ConfigureAwait(false);
        }
        else
        {
            await DeliverBlockLogsAsync(block, ev.Replaced ?? [], token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A polled `logs` feed: logs of replaced blocks again with `removed: true`, then the new block's
    /// logs (eth_getLogs by block hash with the client's address/topics), each once, in log order.
    /// </summary>
    private async ValueTask DeliverBlockLogsAsync(PolledBlock block, IReadOnlyList<string> replaced, CancellationToken token)
    {
        foreach (var hash in replaced)
        {
            foreach (var removed in _blockLogs.TakeRemoved(hash))
            {
                if (ParseLog(removed) is { } log && _logs.ShouldDeliver(log))
                {
                    Deliver(removed);
                }
            }
        }

        var filter = Key.Filter is null ? new JsonObject() : JsonNode.Parse(Key.Filter) as JsonObject ?? new JsonObject();
        filter.Remove("fromBlock");
        filter.Remove("toBlock");
        filter["blockHash"] = block.Hash;
        var parameters = "[" + filter.ToJsonString() + "]";
        JsonNode? result = null;
        for (var attempt = 0; attempt < 3 && result is not JsonArray; attempt++)
        {
            (result, _) = await _hub.Reader.CallAsync(Key.Chain, "eth_getLogs", parameters, block.ServedBy, token).ConfigureAwait(false);
        }

        if (result is not JsonArray logs)
        {
            LogBlockLogsFailed(Key.Chain, block.Number);
            return;
        }

        var ordered = logs.OfType<JsonObject>()
            .Select(l => Encoding.UTF8.GetBytes(l.ToJsonString()))
            .Select(bytes => (Bytes: bytes, Parsed: ParseLog(bytes)))
            .Where(l => l.Parsed is not null)
            .OrderBy(l => JsonRpc.HexQuantity.TryParse(l.Parsed!.Value.LogIndex, out var index) ? index : 0);
        foreach (var (bytes, parsed) in ordered)
        {
            if (_logs.ShouldDeliver(parsed!.Value))
            {
                Deliver(bytes);
                _blockLogs.Add(block.Hash, bytes);
            }
        }
    }

    private void Deliver(byte[] payload)
    {
        foreach (var client in _clients)
        {
            client.Deliver(payload);
        }
    }

    /// <summary>Upstreams to ask for repair data: the serving one first, then the rest of the ranking.</summary>
    private IEnumerable<Upstream> RepairSources()
    {
        var current = _current?.Upstream;
        if (current is not null)
        {
            yield return current;
        }

        foreach (var upstream in _chains.TryGet(Key.Chain, out var chain) ? chain.Ranking : [])
        {
            if (upstream != current)
            {
                yield return upstream;
            }
        }
    }

    private async ValueTask<(byte[] Payload, string? Hash)?> FetchHeaderAsync(long number, CancellationToken token)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["{{JsonRpc.HexQuantity.Format(number)}}",false]}""");
        foreach (var upstream in RepairSources())
        {
            var result = await CallAsync(upstream, body, "eth_getBlockByNumber", token).ConfigureAwait(false);
            if (result is JsonObject block)
            {
                return (PolledBlock.HeaderOf(block), block["hash"]?.GetValue<string>());
            }
        }

        return null;
    }

    private async ValueTask<long> BlockNumberAsync(Upstream upstream, CancellationToken token)
    {
        var body = """{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"""u8.ToArray();
        var result = await CallAsync(upstream, body, "eth_blockNumber", token).ConfigureAwait(false);
        return result is JsonValue value && JsonRpc.HexQuantity.TryParse(value.GetValue<string>(), out var number) ? number : upstream.Health.Head;
    }

    private async ValueTask BackfillLogsAsync(Upstream upstream, CancellationToken token)
    {
        var margin = Options.BackfillMarginBlocks;
        var from = _logs.HighestBlock >= 0 ? Math.Max(_startBlock, _logs.HighestBlock - margin) : _startBlock;
        var filter = Key.Filter is null ? new JsonObject() : JsonNode.Parse(Key.Filter) as JsonObject ?? new JsonObject();
        filter["fromBlock"] = JsonRpc.HexQuantity.Format(Math.Max(0, from));
        filter["toBlock"] = "latest";
        filter.Remove("blockHash");
        var body = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{{filter.ToJsonString()}}]}""");
        JsonNode? result = null;
        foreach (var source in new[] { upstream }.Concat(RepairSources().Where(u => u != upstream)))
        {
            result = await CallAsync(source, body, "eth_getLogs", token).ConfigureAwait(false);
            if (result is JsonArray)
            {
                break;
            }
        }

        if (result is not JsonArray logs)
        {
            LogBackfillFailed(Key.Chain, from);
            return;
        }

        var delivered = 0;
        var ordered = logs.OfType<JsonObject>()
            .Select(l => (Node: l, Bytes: Encoding.UTF8.GetBytes(l.ToJsonString())))
            .Select(l => (l.Bytes, Parsed: ParseLog(l.Bytes)))
            .Where(l => l.Parsed is not null)
            .OrderBy(l => l.Parsed!.Value.BlockNumber)
            .ThenBy(l => JsonRpc.HexQuantity.TryParse(l.Parsed!.Value.LogIndex, out var index) ? index : 0);
        foreach (var (bytes, parsed) in ordered)
        {
            if (_logs.ShouldDeliver(parsed!.Value))
            {
                Deliver(bytes);
                delivered++;
            }
        }

        LogBackfilled(Key.Chain, from, logs.Count, delivered);
    }

    private static LogRef? ParseLog(byte[] bytes)
    {
        using var document = JsonDocument.Parse(bytes);
        return LogRef.TryParse(document.RootElement, out var log) ? log : null;
    }

    private async ValueTask<JsonNode?> CallAsync(Upstream upstream, byte[] body, string method, CancellationToken token)
    {
        var timeout = _chains.TryGet(Key.Chain, out var chain) ? chain.Options.Routing.Timeouts.PerAttempt : TimeSpan.FromSeconds(3);
        using var outcome = await _sender.SendAsync(upstream, body, method, timeout, call: null, token).ConfigureAwait(false);
        if (outcome.Kind != AttemptKind.Answered || outcome.Body is null)
        {
            return null;
        }

        var reply = JsonNode.Parse(outcome.Body.Span);
        return reply?["result"];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: {Kind} subscription lost on {Upstream} ({Reason}); re-subscribing on the next-ranked upstream")]
    private partial void LogUpstreamLost(string chain, string kind, string upstream, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Chain {Chain}: {Kind} subscription could not be set up on {Upstream} ({Reason})")]
    private partial void LogConnectFailed(string chain, string kind, string upstream, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: {Kind} subscription moved from {From} to {To} (last delivered head {Head})")]
    private partial void LogResubscribed(string chain, string kind, string from, string to, long head);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: could not fetch missed head {Block} before {Head}; the client sees a gap")]
    private partial void LogGapUnfilled(string chain, long block, long head);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: {Missing} heads missing between {Last} and {Head} exceed max_gap_blocks; resuming at the new head")]
    private partial void LogGapTooLarge(string chain, long last, long head, int missing);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: logs backfilled from block {From}: {Found} found, {Delivered} not yet delivered")]
    private partial void LogBackfilled(string chain, long from, int found, int delivered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: logs backfill from block {From} failed on every upstream")]
    private partial void LogBackfillFailed(string chain, long from);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: no WebSocket upstream can serve {Kind}; synthesising it from HTTP polling every {IntervalMs} ms")]
    private partial void LogPolling(string chain, string kind, double intervalMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: newPendingTransactions has no WebSocket upstream to subscribe on (the mempool cannot be polled over HTTP); the subscription gets nothing until one is available")]
    private partial void LogPendingUnfed(string chain);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: logs of polled block {Block} could not be read (eth_getLogs by block hash failed 3 times); they are not delivered")]
    private partial void LogBlockLogsFailed(string chain, long block);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: unreadable notification from {Upstream} ({Error})")]
    private partial void LogBadNotification(string chain, string upstream, string error);
}
