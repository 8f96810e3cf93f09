using System.Threading.Channels;
using RpcShield.Configuration;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// One chain's heads over HTTP, for subscriptions no WebSocket upstream can feed: polls
/// `eth_getBlockByNumber("latest")` through the routed read path and publishes each new block once,
/// in chain order, to every attached feed. A head more than one block ahead, or whose parent is not
/// the block published at that height, is linked back by `parentHash` (`eth_getBlockByHash`, at most
/// `max_gap_blocks`) and the blocks from the fork point on are published in order, each with the
/// hashes it replaced (a reorg, as a WebSocket node reports it). A head below the last published one
/// (a node behind, or a shorter fork) or one already left for another fork is not a new head.
/// Runs only while a feed is attached.
/// </summary>
internal sealed partial class HttpHeadPoller
{
    private static readonly TimeSpan MaxInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(20);
    private const int OrphansKept = 1024;

    private readonly string _chain;
    private readonly Func<SubscriptionOptions> _options;
    private readonly IBlockReader _reader;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly SortedList<long, string> _published = [];
    private readonly HashSet<string> _orphans = new(StringComparer.OrdinalIgnoreCase);
    private readonly Queue<string> _orphanOrder = new();
    private readonly CancellationTokenSource _stop = new();
    private HeadPollLease[] _leases = [];
    private PolledBlock? _head;
    private bool _failing;
    private Task? _run;

    public HttpHeadPoller(string chain, Func<SubscriptionOptions> options, IBlockReader reader, TimeProvider time, ILogger logger)
    {
        _chain = chain;
        _options = options;
        _reader = reader;
        _time = time;
        _logger = logger;
    }

    /// <summary>Poll interval: a quarter of `block_time`, at most 250 ms (at least 20 ms).</summary>
    public static TimeSpan IntervalFor(SubscriptionOptions options)
    {
        var quarter = options.BlockTime / 4;
        return quarter > MaxInterval ? MaxInterval : quarter < MinInterval ? MinInterval : quarter;
    }

    public string Chain => _chain;

    /// <summary>The last head published (null before the first answer).</summary>
    public PolledBlock? Head
    {
        get
        {
            lock (_lock)
            {
                return _head;
            }
        }
    }

    /// <summary>The upstream that answered the last poll.</summary>
    public Upstream? ServedBy { get; private set; }

    /// <summary>Attaches a feed: it is confirmed with the current head (now, or after the first answer), then gets every new block.</summary>
    public HeadPollLease Attach(ChannelWriter<FeedEvent> events)
    {
        var lease = new HeadPollLease(this, events);
        lock (_lock)
        {
            _leases = [.. _leases, lease];
            if (_head is { } head)
            {
                lease.Confirm(head);
            }
        }

        return lease;
    }

    /// <summary>Detaches a feed; returns how many remain.</summary>
    public int Detach(HeadPollLease lease)
    {
        lock (_lock)
        {
            _leases = _leases.Where(l => l != lease).ToArray();
            return _leases.Length;
        }
    }

    public void Start() => _run = Task.Run(RunAsync);

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await PollOnceAsync(token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One bad answer must not end polling for every subscriber of the chain.
                    LogPollError(_chain, ex.GetType().Name);
                }

                await Task.Delay(IntervalFor(_options()), _time, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>One poll: reads the latest block and publishes what is new.</summary>
    internal async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var latest = await _reader.LatestAsync(_chain, cancellationToken).ConfigureAwait(false);
        if (latest is null)
        {
            if (!_failing)
            {
                _failing = true;
                LogPollFailing(_chain);
            }

            return;
        }

        if (_failing)
        {
            _failing = false;
            LogPollRecovered(_chain, latest.Number);
        }

        ServedBy = latest.ServedBy;
        PolledBlock? head;
        lock (_lock)
        {
            head = _head;
            if (head is null)
            {
                _head = latest;
                _published[latest.Number] = latest.Hash;
                foreach (var lease in _leases)
                {
                    lease.Confirm(latest);
                }

                return;
            }
        }

        if (latest.Number < head.Number || latest.Hash == head.Hash || _orphans.Contains(latest.Hash)
            || (_published.TryGetValue(latest.Number, out var known) && known == latest.Hash))
        {
            return;
        }

        var segment = await LinkAsync(latest, cancellationToken).ConfigureAwait(false);
        var replaced = _published.Where(p => p.Key >= segment[0].Number).Select(p => p.Value).ToArray();
        foreach (var hash in replaced)
        {
            Orphan(hash);
        }

        if (replaced.Length > 0)
        {
            LogReorg(_chain, segment[0].Number, replaced.Length, latest.Number);
        }

        lock (_lock)
        {
            for (var i = _published.Count - 1; i >= 0 && _published.Keys[i] >= segment[0].Number; i--)
            {
                _published.RemoveAt(i);
            }

            foreach (var block in segment)
            {
                _published[block.Number] = block.Hash;
                foreach (var lease in _leases)
                {
                    lease.Publish(block, block == segment[0] ? replaced : []);
                }
            }

            _head = latest;
            var keep = _options().MaxGapBlocks + 1;
            while (_published.Count > keep)
            {
                _published.RemoveAt(0);
            }
        }
    }

    /// <summary>The blocks from the fork point (or the block after the last published) up to <paramref name="latest"/>, oldest first.</summary>
    private async Task<List<PolledBlock>> LinkAsync(PolledBlock latest, CancellationToken cancellationToken)
    {
        var maxGap = _options().MaxGapBlocks;
        var segment = new List<PolledBlock> { latest };
        var cursor = latest;
        while (cursor.Number > 0 && _published.Count > 0 && cursor.Number - 1 >= _published.Keys[0])
        {
            if (_published.TryGetValue(cursor.Number - 1, out var known) && string.Equals(known, cursor.ParentHash, StringComparison.OrdinalIgnoreCase))
            {
                break; // linked to what was published
            }

            if (segment.Count > maxGap || cursor.ParentHash is null)
            {
                LogNotLinked(_chain, latest.Number, maxGap);
                return [latest];
            }

            var parent = await _reader.ByHashAsync(_chain, cursor.ParentHash, latest.ServedBy, cancellationToken).ConfigureAwait(false);
            if (parent is null || parent.Number != cursor.Number - 1)
            {
                LogNotLinked(_chain, latest.Number, maxGap);
                return [latest];
            }

            segment.Add(parent);
            cursor = parent;
        }

        segment.Reverse();
        return segment;
    }

    private void Orphan(string hash)
    {
        if (_orphans.Add(hash))
        {
            _orphanOrder.Enqueue(hash);
            if (_orphanOrder.Count > OrphansKept)
            {
                _orphans.Remove(_orphanOrder.Dequeue());
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: polling the latest block for subscriptions failed on every upstream; subscribers get no heads until one answers")]
    private partial void LogPollFailing(string chain);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: a poll of the latest block for subscriptions failed ({Error}); polling goes on")]
    private partial void LogPollError(string chain, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: polling the latest block for subscriptions works again (head {Head})")]
    private partial void LogPollRecovered(string chain, long head);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: reorg seen by polling: {Replaced} published block(s) from {From} replaced; new head {Head}")]
    private partial void LogReorg(string chain, long from, int replaced, long head);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: head {Head} could not be linked to the last published block within max_gap_blocks ({MaxGap}); publishing it alone")]
    private partial void LogNotLinked(string chain, long head, int maxGap);
}
