using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using RpcShield.Chains;
using RpcShield.Features.Fanout;
using RpcShield.Journal;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Features.Inclusion;

/// <summary>
/// Remembers every bundle a builder accepted and, once the chain's best head reaches the bundle's
/// target block, fetches that block (full transactions) from the best upstream and decides
/// `included` / `lost` / `not_included` (<see cref="InclusionJudge"/>). A bundle not found in its
/// block whose sender nonce was nevertheless consumed at that block is `lost` too (the competitor
/// landed in an earlier block). Outcomes go to `rpcshield_bundle_outcomes_total`, the journal
/// (kind `bundle`) and the per-builder statistics in `/status`.
/// </summary>
internal sealed partial class InclusionTracker : BackgroundService
{
    /// <summary>Bundles waiting at most (oldest dropped beyond this).</summary>
    public const int MaxPending = 10_000;

    /// <summary>How often the best heads are checked.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>A block that cannot be fetched for this many blocks past its number is given up.</summary>
    private const long GiveUpAfterBlocks = 64;

    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(3);

    private readonly ChainRegistry _chains;
    private readonly BuilderRegistry _builders;
    private readonly UpstreamSender _sender;
    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly TimeProvider _time;
    private readonly ILogger<InclusionTracker> _logger;
    private readonly Lock _lock = new();
    private readonly LinkedList<TrackedBundle> _pending = new();

    public InclusionTracker(ChainRegistry chains, BuilderRegistry builders, UpstreamSender sender, RpcShieldMetrics metrics, IFailureJournal journal, TimeProvider time, ILogger<InclusionTracker> logger)
    {
        _chains = chains;
        _builders = builders;
        _sender = sender;
        _metrics = metrics;
        _journal = journal;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised after a bundle's outcome is decided (tests, sandbox output).</summary>
    public event Action<TrackedBundle, InclusionDecision>? Decided;

    /// <summary>Raised with the target block too (bundle status: base fee, block builder, reasons).</summary>
    public event Action<ChainRuntime, TrackedBundle, BlockView, InclusionDecision>? Judged;

    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public int PendingFor(string chain)
    {
        lock (_lock)
        {
            return _pending.Count(b => b.Chain == chain);
        }
    }

    public void Track(TrackedBundle bundle)
    {
        lock (_lock)
        {
            _pending.AddLast(bundle);
            if (_pending.Count > MaxPending)
            {
                _pending.RemoveFirst();
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await CheckAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCheckFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: decides every bundle whose target block the chain has reached.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        foreach (var chain in _chains.Chains)
        {
            var head = chain.BestHead;
            if (head < 0)
            {
                continue;
            }

            List<TrackedBundle> due;
            lock (_lock)
            {
                due = _pending.Where(b => b.Chain == chain.Name && b.DueBlock <= head).ToList();
            }

            foreach (var group in due.GroupBy(b => b.DueBlock))
            {
                var block = await FetchBlockAsync(chain, group.Key, cancellationToken).ConfigureAwait(false);
                if (block is null)
                {
                    if (head - group.Key > GiveUpAfterBlocks)
                    {
                        LogGaveUp(chain.Name, group.Key, group.Count());
                        Remove(group);
                    }

                    continue;
                }

                var decided = new List<TrackedBundle>();
                foreach (var bundle in group)
                {
                    var decision = InclusionJudge.Decide(bundle, block, chain.Options.Builders);
                    if (decision.Outcome == InclusionDecision.NotIncluded && group.Key < bundle.TargetBlock)
                    {
                        // A window (private transaction) not over yet: look at the next block.
                        bundle.NextBlock = group.Key + 1;
                        continue;
                    }

                    if (decision.Outcome == InclusionDecision.NotIncluded
                        && await NonceConsumedAsync(chain, bundle, group.Key, cancellationToken).ConfigureAwait(false))
                    {
                        decision = decision with { Outcome = InclusionDecision.Lost };
                    }

                    Publish(chain, bundle, block, decision);
                    decided.Add(bundle);
                }

                Remove(decided);
            }
        }
    }

    private void Remove(IEnumerable<TrackedBundle> bundles)
    {
        lock (_lock)
        {
            foreach (var bundle in bundles)
            {
                _pending.Remove(bundle);
            }
        }
    }

    private void Publish(ChainRuntime chain, TrackedBundle bundle, BlockView block, InclusionDecision decision)
    {
        _metrics.BundleOutcomes.WithLabels(chain.Name, decision.BlockBuilder, decision.Outcome).Inc();
        _builders.Find(chain.Name, decision.BlockBuilder)?.RecordInclusion(decision.Outcome);
        _journal.Record(new JournalEntry
        {
            Kind = "bundle",
            Timestamp = _time.GetUtcNow(),
            Chain = chain.Name,
            Strategy = bundle.Strategy,
            HeadBlock = block.Number,
            Method = bundle.Method,
            Reason = decision.Outcome,
            Outcome = decision.Outcome,
            Builder = decision.BlockBuilder,
            BundleHash = bundle.BundleHash,
            TxHash = bundle.TxHashes.Count > 0 ? bundle.TxHashes[0] : null,
            CompetitorTx = decision.CompetitorTx,
            Note = $"block {block.Number} miner {block.Miner}; accepted by {string.Join(',', bundle.AcceptedBy)}",
        });
        LogDecided(chain.Name, bundle.BundleHash, block.Number, decision.Outcome, decision.BlockBuilder);
        Decided?.Invoke(bundle, decision);
        Judged?.Invoke(chain, bundle, block, decision);
    }

    private async Task<BlockView?> FetchBlockAsync(ChainRuntime chain, long number, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x{{number.ToString("x", CultureInfo.InvariantCulture)}}",true]}""");
        foreach (var upstream in chain.Candidates("eth_getBlockByNumber", 2))
        {
            using var outcome = await _sender.SendAsync(upstream, body, "eth_getBlockByNumber", FetchTimeout, call: null, cancellationToken).ConfigureAwait(false);
            if (outcome.Kind != AttemptKind.Answered || outcome.Body is null)
            {
                continue;
            }

            try
            {
                if (InclusionJudge.ParseBlock(outcome.Body.Span) is { } block)
                {
                    return block;
                }
            }
            catch (JsonException)
            {
            }
        }

        return null;
    }

    /// <summary>True when a sender's nonce at <paramref name="block"/> is past one of the bundle's nonces (used by another tx).</summary>
    private async Task<bool> NonceConsumedAsync(ChainRuntime chain, TrackedBundle bundle, long block, CancellationToken cancellationToken)
    {
        foreach (var sender in bundle.Transactions.GroupBy(t => t.Sender, StringComparer.OrdinalIgnoreCase))
        {
            var lowest = sender.Min(t => t.Nonce);
            var body = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionCount","params":["{{sender.Key}}","0x{{block.ToString("x", CultureInfo.InvariantCulture)}}"]}""");
            foreach (var upstream in chain.Candidates("eth_getTransactionCount", 2))
            {
                using var outcome = await _sender.SendAsync(upstream, body, "eth_getTransactionCount", FetchTimeout, call: null, cancellationToken).ConfigureAwait(false);
                if (outcome.Kind != AttemptKind.Answered || outcome.Body is null)
                {
                    continue;
                }

                var count = ReadQuantityResult(outcome.Body.Span);
                if (count >= 0)
                {
                    if (count > lowest)
                    {
                        return true;
                    }

                    break;
                }
            }
        }

        return false;
    }

    private static BigInteger ReadQuantityResult(ReadOnlySpan<byte> response)
    {
        try
        {
            var reader = new Utf8JsonReader(response);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.String
                ? InclusionJudge.ParseQuantity(result.GetString())
                : BigInteger.MinusOne;
        }
        catch (JsonException)
        {
            return BigInteger.MinusOne;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: bundle {BundleHash} for block {Block}: {Outcome} (block built by {Builder})")]
    private partial void LogDecided(string chain, string bundleHash, long block, string outcome, string builder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: block {Block} could not be fetched; {Count} bundle(s) left undecided")]
    private partial void LogGaveUp(string chain, long block, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inclusion check failed")]
    private partial void LogCheckFailed(Exception exception);
}
