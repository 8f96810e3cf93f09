using System.Collections.Concurrent;
using System.Security.Cryptography;
using Prometheus;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// Process-wide owner of WebSocket subscriptions: client connections, client subscriptions and
/// the shared upstream feeds (one per chain, kind and filter, fanned out to every client
/// subscription with that key). Enforces `server.websocket.max_subscriptions`.
/// Chaos seam: <see cref="DisconnectClients"/> and <see cref="DisconnectUpstreams"/> drop sockets
/// exactly as a network failure would (for the `ws_disconnect` fault, client and upstream scope).
/// </summary>
internal sealed partial class SubscriptionHub : IAsyncDisposable
{
    private readonly ChainRegistry _chains;
    private readonly UpstreamSender _sender;
    private readonly ConfigStore _config;
    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly TimeProvider _time;
    private readonly ILogger<SubscriptionHub> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<FeedKey, SubscriptionFeed> _feeds = [];
    /// <summary>How long a client gets to answer the shutdown close before it is dropped.</summary>
    internal static readonly TimeSpan StoppingGrace = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, HttpHeadPoller> _pollers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<WsClientConnection, byte> _connections = new();
    private bool _stopping;
    private readonly Counter _slowClients;
    private readonly Gauge _connectionsGauge;
    private readonly AsyncLocal<SubscribeScope?> _scope = new();
    private int _total;

    public SubscriptionHub(ChainRegistry chains, UpstreamSender sender, ReadForwarder reads, ConfigStore config, RpcShieldMetrics metrics, IFailureJournal journal, TimeProvider time, ILogger<SubscriptionHub> logger)
    {
        _chains = chains;
        _sender = sender;
        Reader = new RoutedBlockReader(chains, reads, sender);
        _config = config;
        _metrics = metrics;
        _journal = journal;
        _time = time;
        _logger = logger;
        var factory = Metrics.WithCustomRegistry(metrics.Registry);
        _slowClients = factory.CreateCounter("rpcshield_ws_slow_client_disconnects_total", "WebSocket clients disconnected because they did not read (send queue full).", "chain");
        _connectionsGauge = factory.CreateGauge("rpcshield_ws_connections", "Open client WebSocket connections.", "chain");
    }

    /// <summary>Client subscriptions held by the whole process.</summary>
    public int ActiveSubscriptions => Volatile.Read(ref _total);

    public int ActiveConnections => _connections.Count;

    /// <summary>Shared upstream subscriptions of a chain: kind, serving upstream, client count, source (`ws`, `http_poll` or null).</summary>
    public IReadOnlyList<(string Kind, string? Upstream, int Clients, string? Source)> Feeds(string chain)
    {
        lock (_lock)
        {
            return _feeds.Values.Where(f => f.Key.Chain == chain)
                .Select(f => (SubscriptionKinds.Wire(f.Key.Kind), f.CurrentUpstream, f.ClientCount, f.Source)).ToList();
        }
    }

    /// <summary>
    /// Host stopping: every client socket gets a 1001 close (going away), and so does one that
    /// connects after this. Returns when all have closed or been dropped.
    /// </summary>
    public Task GoAwayAsync(TimeSpan grace)
    {
        Volatile.Write(ref _stopping, true);
        return Task.WhenAll(_connections.Keys.Select(c => c.GoAwayAsync(grace)));
    }

    /// <summary>Reads for synthesised (polled) subscriptions, through the routed read path.</summary>
    internal RoutedBlockReader Reader { get; }

    /// <summary>Attaches a feed to its chain's head poller (started with the first feed).</summary>
    internal HeadPollLease AttachPoll(string chain, System.Threading.Channels.ChannelWriter<FeedEvent> events)
    {
        lock (_pollers)
        {
            if (!_pollers.TryGetValue(chain, out var poller))
            {
                poller = new HttpHeadPoller(chain, () => _chains.TryGet(chain, out var c) ? c.Options.Routing.Subscriptions : new SubscriptionOptions(), Reader, _time, _logger);
                _pollers[chain] = poller;
                poller.Start();
            }

            return poller.Attach(events);
        }
    }

    /// <summary>Detaches a feed; the last one stops its chain's poller.</summary>
    internal void DetachPoll(HeadPollLease lease)
    {
        lock (_pollers)
        {
            if (lease.Poller.Detach(lease) > 0 || !_pollers.Remove(lease.Poller.Chain))
            {
                return;
            }
        }

        _ = lease.Poller.StopAsync();
    }

    /// <summary>Chaos seam (client scope): drops every client socket of a chain; returns how many.</summary>
    public int DisconnectClients(string chain)
    {
        var count = 0;
        foreach (var connection in _connections.Keys)
        {
            if (connection.Chain == chain)
            {
                connection.Abort();
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// Chaos seam (upstream scope): drops the upstream sockets of a chain's subscriptions (only
    /// those on <paramref name="upstream"/> when given); they re-subscribe elsewhere as on any loss.
    /// </summary>
    public int DisconnectUpstreams(string chain, string? upstream = null)
    {
        lock (_lock)
        {
            return _feeds.Values.Count(f => f.Key.Chain == chain && f.AbortUpstream(upstream));
        }
    }

    internal SubscribeScope? CurrentScope => _scope.Value;

    internal void EnterScope(SubscribeScope scope) => _scope.Value = scope;

    internal void Register(WsClientConnection connection)
    {
        _connections[connection] = 0;
        _connectionsGauge.WithLabels(connection.Chain).Inc();
        if (Volatile.Read(ref _stopping))
        {
            _ = connection.GoAwayAsync(StoppingGrace);
        }
    }

    internal void Unregister(WsClientConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            _connectionsGauge.WithLabels(connection.Chain).Dec();
        }
    }

    /// <summary>Creates a (not yet active) client subscription, or returns why not.</summary>
    internal ClientSubscription? TrySubscribe(WsClientConnection connection, SubscriptionKind kind, string? filter, out string? error)
    {
        var limit = _config.Current.Server.Websocket.MaxSubscriptions;
        lock (_lock)
        {
            if (_total >= limit)
            {
                error = $"subscription limit reached: {limit} per process (server.websocket.max_subscriptions)";
                return null;
            }

            var key = new FeedKey(connection.Chain, kind, filter);
            var started = false;
            if (!_feeds.TryGetValue(key, out var feed))
            {
                feed = new SubscriptionFeed(key, _chains, _sender, this, _time, _logger);
                _feeds[key] = feed;
                started = true;
            }

            var subscription = new ClientSubscription(NewId(), connection, feed);
            feed.Add(subscription);
            _total++;
            _metrics.WsSubscriptions.WithLabels(connection.Chain).Inc();
            if (started)
            {
                feed.Start();
            }

            error = null;
            return subscription;
        }
    }

    internal void Unsubscribe(ClientSubscription subscription)
    {
        SubscriptionFeed? idle = null;
        lock (_lock)
        {
            _total--;
            _metrics.WsSubscriptions.WithLabels(subscription.Connection.Chain).Dec();
            if (subscription.Feed.Remove(subscription) == 0 && _feeds.Remove(subscription.Feed.Key))
            {
                idle = subscription.Feed;
            }
        }

        if (idle is not null)
        {
            // Last client gone: unsubscribe upstream and close its socket.
            _ = idle.StopAsync();
        }
    }

    internal void RecordSlowClient(WsClientConnection connection)
    {
        _slowClients.WithLabels(connection.Chain).Inc();
        LogSlowClient(connection.Chain);
    }

    internal void RecordLoss(string chain, Upstream upstream, string reason, long head) =>
        _journal.Record(new JournalEntry
        {
            Kind = "failover",
            Chain = chain,
            Method = "eth_subscribe",
            Upstream = upstream.Name,
            Reason = reason,
            HeadBlock = head >= 0 ? head : null,
            Timestamp = _time.GetUtcNow(),
            Note = "subscription lost; re-subscribing on the next-ranked upstream",
        });

    internal void RecordResubscription(string chain, Upstream? from, Upstream to, string reason)
    {
        _metrics.WsResubscriptions.WithLabels(chain, to.Name).Inc();
        _journal.Record(new JournalEntry
        {
            Kind = "failover",
            Chain = chain,
            Method = "eth_subscribe",
            Upstream = to.Name,
            Reason = reason,
            Timestamp = _time.GetUtcNow(),
            Note = $"subscription moved from {from?.Name ?? "-"} to {to.Name}",
        });
    }

    private static string NewId() => "0x" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        SubscriptionFeed[] feeds;
        lock (_lock)
        {
            feeds = [.. _feeds.Values];
            _feeds.Clear();
        }

        await Task.WhenAll(feeds.Select(f => f.StopAsync())).ConfigureAwait(false);
        HttpHeadPoller[] pollers;
        lock (_pollers)
        {
            pollers = [.. _pollers.Values];
            _pollers.Clear();
        }

        await Task.WhenAll(pollers.Select(p => p.StopAsync())).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: WebSocket client disconnected: its send queue is full (it does not read)")]
    private partial void LogSlowClient(string chain);
}

/// <summary>
/// The WebSocket message being processed (flows with the async context into the subscription
/// handler): subscriptions created by it are activated once its reply is queued.
/// </summary>
internal sealed class SubscribeScope(WsClientConnection connection)
{
    private readonly Lock _lock = new();
    private List<ClientSubscription>? _created;

    public WsClientConnection Connection { get; } = connection;

    public void Created(ClientSubscription subscription)
    {
        lock (_lock)
        {
            (_created ??= []).Add(subscription);
        }
    }

    public void ActivateCreated()
    {
        lock (_lock)
        {
            _created?.ForEach(s => s.Activate());
        }
    }
}
