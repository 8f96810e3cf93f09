using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using RpcShield.Features.Broadcast;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Upstreams.Heads;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Features.Caching;

/// <summary>
/// The layer in front of the read forwarder (docs/caching.md): answers eth_blockNumber from the
/// tracked head while a live newHeads feed keeps it; serves kept answers; lets
/// identical reads in flight share one upstream request (each client gets its own id); keeps what
/// <see cref="CachePolicy"/> allows. Only reads no handler claimed reach it: sends, bundles,
/// subscriptions and nonce-quorum reads never do. Head and reorg events drop what they invalidate.
/// </summary>
internal sealed partial class ResponseCache : IDisposable
{
    private static readonly byte[] FinalizedRequest = """{"jsonrpc":"2.0","id":"rpcshield-probe","method":"eth_getBlockByNumber","params":["finalized",false]}"""u8.ToArray();

    private readonly ConfigStore _config;
    private readonly ChainRegistry _chains;
    private readonly HeadEvents _events;
    private readonly UpstreamSender _sender;
    private readonly RpcShieldMetrics _metrics;
    private readonly HeadTracker? _tracker;
    private readonly ILogger<ResponseCache> _logger;
    private readonly ConcurrentDictionary<string, ChainCache> _stores = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public ResponseCache(ConfigStore config, ChainRegistry chains, HeadEvents events, UpstreamSender sender, RpcShieldMetrics metrics, ILogger<ResponseCache> logger, HeadTracker? tracker = null)
    {
        _config = config;
        _chains = chains;
        _events = events;
        _sender = sender;
        _metrics = metrics;
        _tracker = tracker;
        _logger = logger;
        _events.HeadUpdated += OnHead;
        _events.Reorged += OnReorg;
    }

    /// <summary>The chain's store (null while its cache is disabled); rebuilt when a reload changes its settings.</summary>
    public ChainCache? StoreOf(ChainRuntime chain)
    {
        var settings = CacheSettings.For(_config.Current.Cache, chain.Options.Cache);
        if (!settings.Enabled)
        {
            return null;
        }

        if (_stores.TryGetValue(chain.Name, out var store) && store.Settings == settings)
        {
            return store;
        }

        var fresh = new ChainCache(chain.Name, settings, _metrics.CacheRequests, _metrics.CacheEvictions, _metrics.CacheBytes, _tracker);
        // Static lambdas with the store as their argument: a lambda capturing `fresh` would allocate
        // its closure on every call of this method (the closure lives from the method's first line).
        // Two reads racing after a reload both build one: the first published serves both, the other is dropped.
        var published = _stores.AddOrUpdate(
            chain.Name,
            static (_, added) => added,
            static (_, old, added) =>
            {
                if (old.Settings == added.Settings)
                {
                    return old;
                }

                old.Dispose();
                return added;
            },
            fresh);
        // A dropped store holds nothing; it is not disposed, as that would zero the chain's shared bytes gauge.
        return published;
    }

    /// <summary>Serves <paramref name="item"/> from the cache, in flight, locally, or through <paramref name="reads"/>.</summary>
    public ValueTask<ForwardResult> ServeAsync(RpcCall call, RpcRequestItem item, ReadForwarder reads, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        // While chaos is armed the cache steps aside: experiments and method-aware faults meet the nodes.
        if (item.IsNotification || !_sender.IsPlain || StoreOf(chain) is not { } store || (chain.UncachedMethods.Count > 0 && chain.UncachedMethods.Contains(item.Method)))
        {
            return reads.ForwardAsync(chain, item, cancellationToken, call);
        }

        if (BypassRequested(call))
        {
            Record(call, store, item.Method, CacheResults.Bypass);
            return reads.ForwardAsync(chain, item, cancellationToken, call);
        }

        if (LocalAnswer(call, store, item) is { } local)
        {
            return ValueTask.FromResult(local);
        }

        var generation = store.Head;
        var rule = CachePolicy.Classify(item.Method, item.Params.Span, store.Finalized(chain.BestHead));
        if (rule.Kind == CacheRuleKind.Head && !HasLiveFeed(chain))
        {
            // Without a live newHeads feed a new block is seen up to a poll late: latest data is not kept, only shared in flight.
            rule = rule with { Kind = CacheRuleKind.ShareOnly };
        }

        if (!rule.Shares || !CacheKey.TryCreate(item.Method, item.Params.Span, out var key))
        {
            return reads.ForwardAsync(chain, item, cancellationToken, call);
        }

        if (rule.Keeps && store.TryGet(key, rule.Kind, generation, out var kept))
        {
            Record(call, store, item.Method, CacheResults.Hit);
            return ValueTask.FromResult(Reply(item.Id, kept));
        }

        var flights = rule.Kind is CacheRuleKind.Head or CacheRuleKind.ShareOnly ? generation.Flights : store.Flights;
        var flight = new InFlightRead();
        if (flights.TryAdd(key, flight))
        {
            // Started synchronously: a batch's item joins the upstream batch before it is flushed.
            return Lead(call, item, reads, store, key, rule, generation, flights, flight, cancellationToken);
        }

        return flights.TryGetValue(key, out var running)
            ? FollowAsync(call, item, reads, store, running, cancellationToken)
            : reads.ForwardAsync(chain, item, cancellationToken, call);
    }

    private ValueTask<ForwardResult> Lead(RpcCall call, RpcRequestItem item, ReadForwarder reads, ChainCache store, CacheKey key, CacheRule rule, HeadGeneration generation, ConcurrentDictionary<CacheKey, InFlightRead> flights, InFlightRead flight, CancellationToken cancellationToken)
    {
        ValueTask<ForwardResult> forwarded;
        try
        {
            forwarded = reads.ForwardAsync(call.Chain, item, cancellationToken, call);
        }
        catch
        {
            Land(store, key, rule, generation, flights, flight, null);
            throw;
        }

        Record(call, store, item.Method, CacheResults.Miss);
        return forwarded.IsCompletedSuccessfully
            ? ValueTask.FromResult(Land(store, key, rule, generation, flights, flight, forwarded.Result))
            : LeadAsync(forwarded, store, key, rule, generation, flights, flight);
    }

    private async ValueTask<ForwardResult> LeadAsync(ValueTask<ForwardResult> forwarded, ChainCache store, CacheKey key, CacheRule rule, HeadGeneration generation, ConcurrentDictionary<CacheKey, InFlightRead> flights, InFlightRead flight)
    {
        ForwardResult? result = null;
        try
        {
            result = await forwarded.ConfigureAwait(false);
        }
        finally
        {
            Land(store, key, rule, generation, flights, flight, result);
        }

        return result;
    }

    /// <summary>The leader's answer: handed to the reads waiting for it, kept where the policy allows; returned as the node sent it.</summary>
    private ForwardResult Land(ChainCache store, CacheKey key, CacheRule rule, HeadGeneration generation, ConcurrentDictionary<CacheKey, InFlightRead> flights, InFlightRead flight, ForwardResult? result)
    {
        flights.TryRemove(new KeyValuePair<CacheKey, InFlightRead>(key, flight));
        SharedAnswer? shared = null;
        // Only a node's answer is shared (its result, or its own error after failover); a local error (no upstream, cancelled) is not.
        if (result is { Body: { } body, ServedBy: { } upstream } && CachePolicy.TryReadMember(body.Span, out var isError, out var value))
        {
            shared = new SharedAnswer(value.ToArray(), isError, upstream);
            if (rule.Keeps && result.Outcome == "ok" && !isError
                && CachePolicy.TryTakeValue(value, rule, store.Finalized(ChainBestHead(upstream)), out var block, out var hash))
            {
                // An answer that does not name its block's hash is tied to the hash its node showed for that block.
                if (!hash.IsKnown && block >= 0 && _tracker is not null)
                {
                    hash = _tracker.HashShownBy(upstream, block);
                }

                try
                {
                    store.Put(key, rule.Kind, block, hash, shared, generation);
                }
                catch (ObjectDisposedException)
                {
                    // A reload replaced this store while the read was out: the answer is not kept, still answered.
                }
            }
        }

        flight.Complete(shared);
        if (key.IsBlockNumber && result is { Outcome: "ok", ServedBy: { } node, Body: { } answer } && HexQuantity.TryReadResult(answer.Span, out var number)
            && _chains.TryGet(node.Chain, out var chain))
        {
            // Forwarded with polling only: the node's answer moves the tracked head at once.
            _tracker?.ObserveBlockNumber(chain, node, number);
        }

        return result!;
    }

    private long ChainBestHead(Upstream upstream) => _chains.TryGet(upstream.Chain, out var chain) ? chain.BestHead : -1;

    private static async ValueTask<ForwardResult> FollowAsync(RpcCall call, RpcRequestItem item, ReadForwarder reads, ChainCache store, InFlightRead flight, CancellationToken cancellationToken)
    {
        SharedAnswer? shared;
        try
        {
            shared = await flight.Answer.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ForwardResult.Error(RpcErrorCodes.NoUpstream, "Request cancelled by the client");
        }

        if (shared is null)
        {
            // The shared read failed: this one is routed on its own, with its own failover.
            Record(call, store, item.Method, CacheResults.Miss);
            return await reads.ForwardAsync(call.Chain, item, cancellationToken, call).ConfigureAwait(false);
        }

        Record(call, store, item.Method, CacheResults.Coalesced);
        return Reply(item.Id, shared);
    }

    /// <summary>eth_blockNumber from the tracked head while a live newHeads feed keeps it (eth_chainId and net_version are kept for ever after the first node's answer).</summary>
    private ForwardResult? LocalAnswer(RpcCall call, ChainCache store, in RpcRequestItem item)
    {
        var chain = call.Chain;
        if (item.Method == "eth_blockNumber" && chain.BestHead is >= 0 and var head && HasLiveFeed(chain) && AtHead(chain, head) is { } upstream)
        {
            Record(call, store, item.Method, CacheResults.Hit);
            // Served "by" a node at that head: the monotonic filter still sees it, the upstream header names it.
            return ForwardResult.Served(LocalResult.StringResult(item.Id, "0x" + head.ToString("x", CultureInfo.InvariantCulture)), upstream, nodeError: false, []);
        }

        return null;
    }

    private static Upstream? AtHead(ChainRuntime chain, long head)
    {
        foreach (var upstream in chain.Ranking)
        {
            if (upstream.Health.Head >= head)
            {
                return upstream;
            }
        }

        return null;
    }

    private bool HasLiveFeed(ChainRuntime chain) => _tracker?.HasLiveFeed(chain) == true;

    // The typed property: Kestrel reads its known-header field, no lookup by name.
    private static bool BypassRequested(RpcCall call) =>
        call.RequestHeaders.CacheControl is { Count: > 0 } value && value.ToString().Contains("no-cache", StringComparison.OrdinalIgnoreCase);

    private static void Record(RpcCall call, ChainCache store, string method, string result)
    {
        store.Requests.Count(method, result);
        call.Annotate(CacheResults.Header, result);
    }

    private static ForwardResult Reply(ReadOnlyMemory<byte> id, SharedAnswer answer)
    {
        var body = new PooledBuffer(48 + id.Length + answer.Value.Length);
        body.Write("{\"jsonrpc\":\"2.0\",\"id\":"u8);
        body.Write(id.Span);
        body.Write(answer.IsError ? ",\"error\":"u8 : ",\"result\":"u8);
        body.Write(answer.Value);
        body.Write("}"u8);
        return answer.ServedBy is { } upstream ? ForwardResult.Served(body, upstream, answer.IsError, []) : ForwardResult.Local(body);
    }

    private void OnHead(HeadUpdate head)
    {
        if (!_chains.TryGet(head.Chain, out var chain) || StoreOf(chain) is not { } store || !store.OnHead(head.Number, head.Hash, reorg: false))
        {
            return;
        }

        if (store.BeginRefresh())
        {
            _ = RefreshFinalizedAsync(chain, store, head.Upstream);
        }
    }

    private void OnReorg(ReorgEvent reorg)
    {
        if (!_stores.TryGetValue(reorg.Chain, out var store))
        {
            return;
        }

        store.OnHead(reorg.NewNumber, reorg.NewHash, reorg: true);
        // The tracker found the fork point by hash; where it could not, the reorg may reach deeper
        // than the lower head: everything within finality_depth below it goes too.
        var from = reorg.ForkBlock ?? reorg.FirstAffectedBlock - store.Settings.FinalityDepth;
        var evicted = store.EvictFrom(Math.Max(0, from));
        store.NodeFinalized(-1);
        LogReorgEviction(reorg.Chain, evicted, from);
    }

    /// <summary>Asks the node that showed the new head for its `finalized` block (once per head, one at a time).</summary>
    private async Task RefreshFinalizedAsync(ChainRuntime chain, ChainCache store, string upstreamName)
    {
        try
        {
            var upstream = chain.Upstreams.FirstOrDefault(u => u.Name == upstreamName);
            if (upstream is null)
            {
                return;
            }

            using var body = await _sender.ObserveAsync(upstream, FinalizedRequest, chain.Options.Routing.Health.Timeout, _stopping.Token).ConfigureAwait(false);
            store.NodeFinalized(body is not null && BlockHeader.TryReadResult(body.Span, out var header) ? header.Number : -1);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRefreshFailed(ex, chain.Name);
            store.NodeFinalized(-1);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            store.Refreshed();
        }
    }

    public void Dispose()
    {
        _events.HeadUpdated -= OnHead;
        _events.Reorged -= OnReorg;
        _stopping.Cancel();
        _stopping.Dispose();
        foreach (var store in _stores.Values)
        {
            store.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: reorg evicted {Count} cached answers at or above block {From}, and all head data")]
    private partial void LogReorgEviction(string chain, int count, long from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: reading the finalized block failed; head - finality_depth is used")]
    private partial void LogRefreshFailed(Exception ex, string chain);
}
