using RpcShield.Features.Inclusion;
using RpcShield.Journal;
using RpcShield.Telemetry;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// Every bundle RpcShield fanned out (or refused), per chain, bundle hash and target block, with its
/// state, reason and each builder's answer: what `rpcshield_getBundleStatus` reads. The fan-out writes
/// here on its request path, so every method is a short dictionary update under one lock (no I/O, no
/// waiting); judging happens in <see cref="BundleJudge"/> in the background. Every change of state
/// is journaled (kind `bundle_status`) so statuses survive a restart; reasons count in
/// `rpcshield_bundle_reasons_total`. Holds at most <see cref="Capacity"/> bundles (oldest forgotten).
/// </summary>
internal sealed class BundleStatusBook
{
    public const int Capacity = 10_000;

    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Chain, string Hash), List<BundleStatusEntry>> _byHash = [];
    private readonly Queue<BundleStatusEntry> _order = new();
    // Misses per builder of the target block and reason, for `/status` and `/ui` (bounded: configured builder
    // names plus `other`/`none`, times the reason vocabulary).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Chain, string Builder, string Reason), long> _reasonCounts = new();

    public BundleStatusBook(RpcShieldMetrics metrics, IFailureJournal journal, TimeProvider time)
    {
        _metrics = metrics;
        _journal = journal;
        _time = time;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _order.Count;
            }
        }
    }

    /// <summary>
    /// A bundle is being sent to the builders: pending until its target block is judged. A bundle with
    /// a replacementUuid replaces (cancels) the pending bundles sent earlier with the same uuid.
    /// </summary>
    public void Submitted(string chain, string hash, long target, IReadOnlyList<byte[]> raws, IReadOnlyList<string> txHashes, string? uuid, string? strategy, long head, byte[] request)
    {
        List<BundleStatusEntry>? replaced = null;
        BundleStatusEntry entry;
        lock (_lock)
        {
            entry = GetOrAdd(chain, hash, target);
            if (entry.State is not BundleReasons.Included and not BundleReasons.Lost)
            {
                (entry.State, entry.Reason, entry.Detail, entry.CancelRequested) = (BundleReasons.Pending, null, null, false);
            }

            (entry.RawTransactions, entry.TxHashes, entry.ReplacementUuid, entry.Strategy, entry.Request) = (raws, txHashes, uuid, strategy, request);
            if (uuid is not null)
            {
                replaced = CancelLocked(chain, e => e.ReplacementUuid == uuid && e.BundleHash != hash, head, $"replaced by bundle {hash}");
            }
        }

        Journal(entry, null);
        replaced?.ForEach(e => Journal(e, null));
    }

    /// <summary>One builder answered (called as each builder finishes, in the background of the request).</summary>
    public void BuilderAnswered(string chain, string hash, long target, BuilderAnswer answer)
    {
        lock (_lock)
        {
            if (Find(chain, hash, target) is { } entry)
            {
                entry.Builders[answer.Builder] = answer;
            }
        }
    }

    /// <summary>At least one builder accepted: the inclusion tracker follows the bundle to its target block.</summary>
    public void Tracked(TrackedBundle tracked)
    {
        lock (_lock)
        {
            if (Find(tracked.Chain, tracked.BundleHash, tracked.TargetBlock) is { } entry)
            {
                entry.Tracked = tracked;
            }
        }
    }

    /// <summary>The fan-out refused the bundle before sending (its target block is already the head).</summary>
    public void Rejected(string chain, string hash, long target, string detail, string? strategy)
    {
        lock (_lock)
        {
            var entry = GetOrAdd(chain, hash, target);
            if (entry.State != BundleReasons.Pending || entry.Builders.Count > 0)
            {
                // Already sent once for this block: a second, too-late send changes nothing about the first.
                return;
            }

            entry.Strategy ??= strategy;
        }

        Decide(chain, hash, target, new BundleVerdict(BundleReasons.Rejected, BundleReasons.PastBlock, detail), BundleReasons.NoBlockBuilder);
    }

    /// <summary>
    /// Every builder failed: `late` when RpcShield had already seen the target block when they
    /// answered (the builders refused a sealed block), else `not_received`.
    /// </summary>
    public void AllFailed(string chain, string hash, long target, long head, string detail)
    {
        lock (_lock)
        {
            if (Find(chain, hash, target) is not { } entry || entry.Builders.Values.Any(b => b.IsOk) || entry.State != BundleReasons.Pending)
            {
                return;
            }
        }

        var verdict = head >= target
            ? new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.Late, $"block {target} was already seen when the builders answered; {detail}")
            : new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.NotReceived, detail);
        Decide(chain, hash, target, verdict, BundleReasons.NoBlockBuilder);
    }

    /// <summary>The bot cancelled every bundle sent with <paramref name="uuid"/> whose target block is still ahead.</summary>
    public int Cancel(string chain, string uuid, long head)
    {
        List<BundleStatusEntry> cancelled;
        lock (_lock)
        {
            cancelled = CancelLocked(chain, e => e.ReplacementUuid == uuid, head, "cancelled by the bot before its target block");
        }

        cancelled.ForEach(e => Journal(e, null));
        return cancelled.Count;
    }

    /// <summary>The bot cancelled a private transaction (eth_cancelPrivateTransaction) whose maxBlockNumber is still ahead.</summary>
    public int CancelTransaction(string chain, string txHash, long head)
    {
        List<BundleStatusEntry> cancelled;
        lock (_lock)
        {
            cancelled = CancelLocked(chain, e => string.Equals(e.BundleHash, txHash, StringComparison.OrdinalIgnoreCase), head, "private transaction cancelled by the bot (eth_cancelPrivateTransaction)");
        }

        cancelled.ForEach(e => Journal(e, null));
        return cancelled.Count;
    }

    private List<BundleStatusEntry> CancelLocked(string chain, Func<BundleStatusEntry, bool> matches, long head, string detail)
    {
        var cancelled = new List<BundleStatusEntry>();
        foreach (var entry in _order)
        {
            if (entry.Chain == chain && matches(entry)
                && entry.State == BundleReasons.Pending && (head < 0 || entry.TargetBlock > head))
            {
                (entry.CancelRequested, entry.State, entry.Reason, entry.Detail) = (true, BundleReasons.Cancelled, BundleReasons.Cancelled, detail);
                cancelled.Add(entry);
            }
        }

        return cancelled;
    }

    /// <summary>What the judge needs of a bundle (a copy; null when the bundle is unknown).</summary>
    public JudgeInput? ForJudging(string chain, string hash, long target)
    {
        lock (_lock)
        {
            return Find(chain, hash, target) is { } e
                ? new JudgeInput(e.RawTransactions, e.Request, [.. e.Builders.Values], e.CancelRequested, e.Detail)
                : null;
        }
    }

    /// <summary>Records a verdict; the reason counts in `rpcshield_bundle_reasons_total{builder=<paramref name="blockBuilder"/>}`.</summary>
    public void Decide(string chain, string hash, long target, BundleVerdict verdict, string blockBuilder, IncludedIn? includedIn = null, string? competitorTx = null)
    {
        BundleStatusEntry entry;
        lock (_lock)
        {
            entry = GetOrAdd(chain, hash, target);
            (entry.State, entry.Reason, entry.Detail) = (verdict.State, verdict.Reason, verdict.Detail);
            (entry.IncludedBlock, entry.IncludedBuilder) = (includedIn?.Block, includedIn?.Builder);
            if (verdict.State is not BundleReasons.Pending and not BundleReasons.Included)
            {
                // Judged for good: the raw transactions are no longer needed. An included bundle keeps them:
                // a reorg can take its block out, and judging it again (fee, simulation) needs them.
                (entry.RawTransactions, entry.Request) = ([], []);
            }
        }

        if (verdict.Reason is { } reason)
        {
            _metrics.BundleReasons.WithLabels(chain, blockBuilder, reason).Inc();
            _reasonCounts.AddOrUpdate((chain, blockBuilder, reason), 1, static (_, count) => count + 1);
        }

        Journal(entry, competitorTx);
    }

    /// <summary>Reasons judged for bundles whose target block <paramref name="builder"/> built, most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ReasonsFor(string chain, string builder) =>
        Ranked(_reasonCounts.Where(c => c.Key.Chain == chain && c.Key.Builder == builder));

    /// <summary>Reasons judged on <paramref name="chain"/> whoever built the block (unknown builders included), most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ReasonsFor(string chain) =>
        Ranked(_reasonCounts.Where(c => c.Key.Chain == chain));

    private static List<KeyValuePair<string, long>> Ranked(IEnumerable<KeyValuePair<(string Chain, string Builder, string Reason), long>> counts) =>
        counts.GroupBy(c => c.Key.Reason, StringComparer.Ordinal)
            .Select(g => KeyValuePair.Create(g.Key, g.Sum(c => c.Value)))
            .OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// Blocks from <paramref name="firstAffected"/> up changed: bundles judged `included` there go
    /// back to `pending`; returns them for the inclusion tracker to judge again.
    /// </summary>
    public IReadOnlyList<TrackedBundle> Reorged(string chain, long firstAffected)
    {
        var again = new List<(BundleStatusEntry Entry, TrackedBundle Tracked)>();
        lock (_lock)
        {
            foreach (var entry in _order)
            {
                if (entry.Chain == chain && entry.State == BundleReasons.Included && entry.IncludedBlock >= firstAffected)
                {
                    (entry.State, entry.Reason, entry.Detail, entry.IncludedBlock, entry.IncludedBuilder) =
                        (BundleReasons.Pending, null, $"block {entry.IncludedBlock} was reorged out: judged again", null, null);
                    again.Add((entry, entry.Tracked ?? new TrackedBundle
                    {
                        Chain = entry.Chain, BundleHash = entry.BundleHash, TargetBlock = entry.TargetBlock, TxHashes = entry.TxHashes,
                        Transactions = [], Strategy = entry.Strategy,
                    }));
                }
            }
        }

        again.ForEach(a => Journal(a.Entry, null));
        return [.. again.Select(a => a.Tracked)];
    }

    /// <summary>The status for a target block, or (<paramref name="target"/> null) for the latest target the bundle was sent for.</summary>
    public BundleStatusView? Get(string chain, string hash, long? target)
    {
        lock (_lock)
        {
            if (!_byHash.TryGetValue((chain, hash), out var list) || list.Count == 0)
            {
                return null;
            }

            var entry = target is { } t ? list.Find(e => e.TargetBlock == t) : list.MaxBy(e => e.TargetBlock);
            return entry?.View();
        }
    }

    /// <summary>Puts back a status read from the journal at start (never over one this run already has).</summary>
    public BundleStatusEntry? Restore(BundleStatusView view, IReadOnlyList<string> txHashes, string? uuid, string? strategy)
    {
        lock (_lock)
        {
            if (Find(view.Chain, view.BundleHash, view.TargetBlock) is not null)
            {
                return null;
            }

            var entry = GetOrAdd(view.Chain, view.BundleHash, view.TargetBlock);
            (entry.State, entry.Reason, entry.Detail) = (view.State, view.Reason, view.Detail);
            (entry.IncludedBlock, entry.IncludedBuilder) = (view.IncludedIn?.Block, view.IncludedIn?.Builder);
            (entry.TxHashes, entry.ReplacementUuid, entry.Strategy) = (txHashes, uuid, strategy);
            entry.CancelRequested = view.State == BundleReasons.Cancelled;
            foreach (var builder in view.Builders)
            {
                entry.Builders[builder.Builder] = builder;
            }

            return entry;
        }
    }

    private BundleStatusEntry? Find(string chain, string hash, long target) =>
        _byHash.TryGetValue((chain, hash), out var list) ? list.Find(e => e.TargetBlock == target) : null;

    private BundleStatusEntry GetOrAdd(string chain, string hash, long target)
    {
        if (Find(chain, hash, target) is { } existing)
        {
            return existing;
        }

        var entry = new BundleStatusEntry { Chain = chain, BundleHash = hash, TargetBlock = target };
        if (!_byHash.TryGetValue((chain, hash), out var list))
        {
            _byHash[(chain, hash)] = list = [];
        }

        list.Add(entry);
        _order.Enqueue(entry);
        while (_order.Count > Capacity)
        {
            var oldest = _order.Dequeue();
            if (_byHash.TryGetValue((oldest.Chain, oldest.BundleHash), out var old) && old.Remove(oldest) && old.Count == 0)
            {
                _byHash.Remove((oldest.Chain, oldest.BundleHash));
            }
        }

        return entry;
    }

    private void Journal(BundleStatusEntry entry, string? competitorTx)
    {
        string note;
        BundleStatusView view;
        IReadOnlyList<string> txHashes;
        string? uuid, strategy;
        lock (_lock)
        {
            (view, txHashes, uuid, strategy) = (entry.View(), entry.TxHashes, entry.ReplacementUuid, entry.Strategy);
        }

        note = BundleStatusNote.Write(view, txHashes, uuid);
        _journal.Record(new JournalEntry
        {
            Kind = JournalKinds.BundleStatus,
            Timestamp = _time.GetUtcNow(),
            Chain = view.Chain,
            Strategy = strategy,
            HeadBlock = view.TargetBlock,
            Method = "eth_sendBundle",
            Reason = view.Reason,
            Outcome = view.State,
            Builder = view.IncludedIn?.Builder,
            BundleHash = view.BundleHash,
            TxHash = txHashes.Count > 0 ? txHashes[0] : null,
            CompetitorTx = competitorTx,
            Note = note,
        });
    }
}

/// <summary>A judgement: state, reason (null when included or pending) and what the evidence was.</summary>
internal sealed record BundleVerdict(string State, string? Reason, string? Detail);

/// <summary>What <see cref="BundleJudge"/> reads of a bundle.</summary>
internal sealed record JudgeInput(IReadOnlyList<byte[]> RawTransactions, byte[] Request, IReadOnlyList<BuilderAnswer> Builders, bool CancelRequested, string? Detail);
