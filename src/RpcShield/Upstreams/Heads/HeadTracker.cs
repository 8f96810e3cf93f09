using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Upstreams.Health;
using RpcShield.Journal;
using RpcShield.Features.Subscriptions;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// Knows each upstream's head (number and hash) within one block event: from a `newHeads`
/// subscription on its `ws_url`, else (loopback upstreams) from polling eth_getBlockByNumber("latest")
/// every `routing.consistency.head_poll`. Feeds the heads into health and the ranking at once,
/// measures how late each upstream shows each block, and records and publishes reorgs.
/// Remote upstreams without a `ws_url` keep the health probe's heads (one per `health.interval`).
/// </summary>
internal sealed partial class HeadTracker : BackgroundService, IBlockHashes
{
    private static readonly byte[] LatestHeaderRequest = """{"jsonrpc":"2.0","id":"rpcshield-probe","method":"eth_getBlockByNumber","params":["latest",false]}"""u8.ToArray();
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ResubscribeDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WsKeepAlive = TimeSpan.FromSeconds(20);

    /// <summary>Most blocks walked back to find a reorg's fork point (each step below the new head's parent costs one eth_getBlockByHash).</summary>
    private const int ForkSearchDepth = 64;

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    private readonly ChainRegistry _chains;
    private readonly UpstreamSender _sender;
    private readonly TimeProvider _time;
    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly HeadEvents _events;
    private readonly ILogger<HeadTracker> _logger;
    private readonly Dictionary<Upstream, HeadSource> _sources = [];
    private readonly Dictionary<string, HeadBook> _books = new(StringComparer.Ordinal);
    private readonly Channel<FeedEvent> _notifications = Channel.CreateBounded<FeedEvent>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });

    public HeadTracker(ChainRegistry chains, UpstreamSender sender, TimeProvider time, RpcShieldMetrics metrics, IFailureJournal journal, HeadEvents events, ILogger<HeadTracker> logger)
    {
        _chains = chains;
        _sender = sender;
        _time = time;
        _metrics = metrics;
        _journal = journal;
        _events = events;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var notifications = ReadNotificationsAsync(stoppingToken);
        using var tick = new PeriodicTimer(Tick, _time);
        try
        {
            do
            {
                Schedule(stoppingToken);
            }
            while (await tick.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await notifications.ConfigureAwait(false);
        List<HeadSource> sources;
        lock (_sources)
        {
            sources = [.. _sources.Values];
            _sources.Clear();
        }

        foreach (var source in sources)
        {
            await source.StopSubscriptionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One pass: subscriptions started or restarted, polls that are due sent, sources of removed upstreams stopped.</summary>
    private void Schedule(CancellationToken stoppingToken)
    {
        var now = _time.GetTimestamp();
        var live = new HashSet<Upstream>();
        foreach (var chain in _chains.Chains)
        {
            var consistency = chain.Options.Routing.Consistency;
            var timeout = chain.Options.Routing.Health.Timeout;
            foreach (var upstream in chain.Upstreams)
            {
                live.Add(upstream);
                var source = SourceOf(chain, upstream);
                if (upstream.Options.WsUrl is not null && source.Subscription is null && _time.GetElapsedTime(source.SubscribeAfter, now) >= TimeSpan.Zero)
                {
                    source.Subscribe(new UpstreamSubscription(upstream, SubscriptionKind.NewHeads, null, _notifications.Writer, timeout, WsKeepAlive));
                }

                // An open breaker stops every request to the node, head polls too (the probe still runs).
                var routable = upstream.Health.Status is HealthStatus.Healthy or HealthStatus.Lagging && upstream.CircuitState == 0;
                var polls = !source.Live && upstream.Url.IsLoopback;
                upstream.Health.HeadTracked = source.Live || (polls && routable);
                if (polls && routable && !source.Polling && _time.GetElapsedTime(source.LastPoll, now) >= consistency.HeadPoll)
                {
                    source.LastPoll = now;
                    source.Polling = true;
                    _ = PollAsync(chain, upstream, source, timeout, stoppingToken);
                }
            }
        }

        List<HeadSource>? gone = null;
        lock (_sources)
        {
            foreach (var (upstream, source) in _sources)
            {
                if (!live.Contains(upstream))
                {
                    (gone ??= []).Add(source);
                }
            }

            gone?.ForEach(s => _sources.Remove(s.Upstream));
        }

        foreach (var source in gone ?? [])
        {
            BookOf(source.Upstream.Chain).Forget(source.Upstream.Name);
            _ = source.StopSubscriptionAsync().AsTask();
        }
    }

    /// <summary>True while a confirmed newHeads subscription feeds the head of an upstream of <paramref name="chain"/> at its best head.</summary>
    public bool HasLiveFeed(ChainRuntime chain)
    {
        var best = chain.BestHead;
        lock (_sources)
        {
            foreach (var upstream in chain.Upstreams)
            {
                if (upstream.Health.Head >= best && _sources.TryGetValue(upstream, out var source) && source.Live)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public BlockHash CanonicalHash(string chain, long number)
    {
        if (!_chains.TryGet(chain, out var runtime) || KnownBook(chain) is not { } book)
        {
            return default;
        }

        var best = runtime.BestHead;
        foreach (var upstream in runtime.Upstreams)
        {
            if (upstream.Health.Head >= best && book.HashOf(upstream.Name, number) is { } hash)
            {
                return BlockHash.Parse(hash);
            }
        }

        return default;
    }

    /// <inheritdoc/>
    public BlockHash HashShownBy(Upstream upstream, long number) =>
        BlockHash.Parse(KnownBook(upstream.Chain)?.HashOf(upstream.Name, number));

    private HeadBook? KnownBook(string chain)
    {
        lock (_books)
        {
            return _books.GetValueOrDefault(chain);
        }
    }

    private HeadSource SourceOf(ChainRuntime chain, Upstream upstream)
    {
        lock (_sources)
        {
            if (!_sources.TryGetValue(upstream, out var source))
            {
                source = new HeadSource(upstream);
                _sources[upstream] = source;
                // The reorg counter of a chain exists at 0 from its first upstream on.
                _metrics.Reorgs.WithLabels(chain.Name);
            }

            return source;
        }
    }

    private HeadBook BookOf(string chain)
    {
        lock (_books)
        {
            if (!_books.TryGetValue(chain, out var book))
            {
                book = new HeadBook(_time);
                _books[chain] = book;
            }

            return book;
        }
    }

    private async Task PollAsync(ChainRuntime chain, Upstream upstream, HeadSource source, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            using var body = await _sender.ObserveAsync(upstream, LatestHeaderRequest, timeout, cancellationToken).ConfigureAwait(false);
            if (body is not null && BlockHeader.TryReadResult(body.Span, out var header))
            {
                await ObserveAsync(chain, upstream, header, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPollCrash(ex, chain.Name, upstream.Name);
        }
        finally
        {
            source.Polling = false;
        }
    }

    private async Task ReadNotificationsAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var e in _notifications.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (e.Source is not { } subscription)
                {
                    continue;
                }

                HeadSource? source;
                lock (_sources)
                {
                    _sources.TryGetValue(subscription.Upstream, out source);
                }

                if (source?.Subscription != subscription)
                {
                    continue;
                }

                switch (e.Kind)
                {
                    case FeedEventKind.Subscribed:
                        source.Live = true;
                        break;
                    case FeedEventKind.Notification when e.Payload is { } payload && BlockHeader.TryParse(payload, out var header):
                        if (_chains.TryGet(subscription.Upstream.Chain, out var chain))
                        {
                            await ObserveAsync(chain, subscription.Upstream, header, stoppingToken).ConfigureAwait(false);
                        }

                        break;
                    case FeedEventKind.Lost:
                        LogSubscriptionLost(subscription.Upstream.Chain, subscription.Upstream.Name, e.Reason ?? "lost");
                        source.SubscribeAfter = _time.GetTimestamp() + (long)(ResubscribeDelay.TotalSeconds * _time.TimestampFrequency);
                        await source.StopSubscriptionAsync().ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// A node's answer to a client's eth_blockNumber (forwarded while only polling feeds the head): a
    /// number above the upstream's known head moves it at once; the next poll brings its hash.
    /// </summary>
    public void ObserveBlockNumber(ChainRuntime chain, Upstream upstream, long number)
    {
        if (number > upstream.Health.Head)
        {
            // Without a hash or parent this is never a reorg: it completes synchronously.
            _ = ObserveAsync(chain, upstream, new BlockHeader(number, null, null), CancellationToken.None);
        }
    }

    /// <summary>A head from any source: reorg check, delay metric, health and ranking, published.</summary>
    internal async Task ObserveAsync(ChainRuntime chain, Upstream upstream, BlockHeader header, CancellationToken cancellationToken)
    {
        var book = BookOf(chain.Name);
        var change = book.Observe(upstream.Name, header.Number, header.Hash, header.ParentHash, out var delay, out var oldNumber, out var oldHash);
        if (change == HeadChange.Same)
        {
            return;
        }

        var seenAt = _time.GetUtcNow();
        if (delay is { } late)
        {
            upstream.Metrics.HeadDelay.Observe(late.TotalSeconds);
        }

        upstream.Health.HeadObserved(header.Number, header.Hash);
        // Published at once (on the tracker's thread, never a request's), not coalesced: the trusted
        // best head follows a node that climbs block by block, so each head must be ranked in turn
        // (ten heads coalesced into one pass would look like a jump of ten and be held back).
        chain.PublishNow();
        if (change == HeadChange.Reorg)
        {
            // Found before anything is published: a cache evicts from the real fork point, not from the head.
            var fork = await FindForkAsync(chain, upstream, book, header, oldNumber, cancellationToken).ConfigureAwait(false);
            var reorg = new ReorgEvent(chain.Name, upstream.Name, oldNumber, oldHash, header.Number, header.Hash, seenAt) { ForkBlock = fork };
            LogReorg(chain.Name, upstream.Name, oldNumber, oldHash ?? "?", header.Number, header.Hash ?? "?");
            _journal.Record(new JournalEntry
            {
                Kind = JournalKinds.Reorg,
                Timestamp = seenAt,
                Chain = chain.Name,
                Upstream = upstream.Name,
                HeadBlock = header.Number,
                Reason = header.Number < oldNumber ? "head_went_back" : header.Number == oldNumber ? "hash_changed" : "parent_mismatch",
                Note = $"{oldNumber} {oldHash ?? "?"} -> {header.Number} {header.Hash ?? "?"}",
            });
            _events.Publish(reorg);
            _metrics.Reorgs.WithLabels(chain.Name).Inc();
        }

        _events.Publish(new HeadUpdate(chain.Name, upstream.Name, header.Number, header.Hash, seenAt));
    }

    /// <summary>
    /// The lowest block of the new chain whose hash differs from the one <paramref name="upstream"/> showed
    /// before: walks back from the new head along parent hashes (one eth_getBlockByHash per step below
    /// the head's parent), at most <see cref="ForkSearchDepth"/> blocks. Null when not found (a request
    /// failed, or no block within reach matches a remembered one).
    /// </summary>
    private async Task<long?> FindForkAsync(ChainRuntime chain, Upstream upstream, HeadBook book, BlockHeader head, long oldNumber, CancellationToken cancellationToken)
    {
        var (number, hash, parent) = (head.Number, head.Hash, head.ParentHash);
        for (var step = 0; step < ForkSearchDepth && hash is not null; step++)
        {
            if (number <= oldNumber && string.Equals(book.HashOf(upstream.Name, number), hash, StringComparison.OrdinalIgnoreCase))
            {
                return number + 1;
            }

            book.Remember(upstream.Name, number, hash);
            if (number == 0)
            {
                return 0;
            }

            parent ??= await ParentOfAsync(chain, upstream, number, hash, cancellationToken).ConfigureAwait(false);
            (number, hash, parent) = (number - 1, parent, null);
        }

        return null;
    }

    private async Task<string?> ParentOfAsync(ChainRuntime chain, Upstream upstream, long number, string hash, CancellationToken cancellationToken)
    {
        // Only a 32-byte hex hash goes into the request.
        if (hash.Length != 66 || !hash.StartsWith("0x", StringComparison.Ordinal) || hash.AsSpan(2).IndexOfAnyExcept(HexDigits) >= 0)
        {
            return null;
        }

        var request = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":\"rpcshield-probe\",\"method\":\"eth_getBlockByHash\",\"params\":[\"" + hash + "\",false]}");
        using var body = await _sender.ObserveAsync(upstream, request, chain.Options.Routing.Health.Timeout, cancellationToken).ConfigureAwait(false);
        return body is not null && BlockHeader.TryReadResult(body.Span, out var header) && header.Number == number ? header.ParentHash : null;
    }

    /// <summary>Where one upstream's heads come from.</summary>
    private sealed class HeadSource(Upstream upstream)
    {
        private volatile bool _live;
        private volatile bool _polling;

        public Upstream Upstream { get; } = upstream;

        public UpstreamSubscription? Subscription { get; private set; }

        /// <summary>The newHeads subscription is confirmed and has not been lost.</summary>
        public bool Live
        {
            get => _live;
            set => _live = value;
        }

        public bool Polling
        {
            get => _polling;
            set => _polling = value;
        }

        public long LastPoll { get; set; }

        public long SubscribeAfter { get; set; }

        public void Subscribe(UpstreamSubscription subscription)
        {
            Subscription = subscription;
            subscription.Start();
        }

        public async ValueTask StopSubscriptionAsync()
        {
            var subscription = Subscription;
            Subscription = null;
            Live = false;
            if (subscription is not null)
            {
                await subscription.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: reorg seen on {Upstream}: head {OldNumber} {OldHash} -> {NewNumber} {NewHash}")]
    private partial void LogReorg(string chain, string upstream, long oldNumber, string oldHash, long newNumber, string newHash);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: newHeads subscription of {Upstream} lost ({Reason}); polling or probes until it is back")]
    private partial void LogSubscriptionLost(string chain, string upstream, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chain {Chain}: head poll of {Upstream} failed unexpectedly")]
    private partial void LogPollCrash(Exception ex, string chain, string upstream);
}
