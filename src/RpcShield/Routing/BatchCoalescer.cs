using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Routing;

/// <summary>
/// Sends the reads of one client batch that rank the same upstream first (and share an attempt
/// timeout) to it as one upstream batch (at most its `max_batch` items per request) instead of one
/// request per item. Items join while the batch is being dispatched; <see cref="Flush"/> then
/// sends. Each item gets its own answer back as the outcome of its first attempt, so failover (to
/// the next upstream, never the same one again), hedging, the journal and the client's reply treat
/// it as an attempt sent alone. A null outcome hands the item back to be sent alone after all (it
/// ended up by itself, or the node refused the batch).
/// </summary>
internal sealed class BatchCoalescer
{
    /// <summary>How long an upstream that refused a batch gets items one by one before it is offered batches again.</summary>
    public static readonly TimeSpan RefusalCooldown = TimeSpan.FromMinutes(5);

    private readonly UpstreamSender _sender;
    private readonly TimeProvider _time;
    private readonly CancellationToken _cancellationToken;
    private readonly List<Member> _members = [];
    private bool _flushed;

    public BatchCoalescer(UpstreamSender sender, TimeProvider time, CancellationToken cancellationToken)
    {
        _sender = sender;
        _time = time;
        _cancellationToken = cancellationToken;
    }

    /// <summary>
    /// Adds the first attempt of <paramref name="item"/> on <paramref name="upstream"/>; its outcome
    /// (null: send it alone) completes <paramref name="attempt"/>. False (send it alone) once
    /// flushed, for an upstream that takes no batches, an id a node might not echo exactly, or an
    /// id already in the batch.
    /// </summary>
    public bool TryJoin(Upstream upstream, in RpcRequestItem item, TimeSpan timeout, out Task<AttemptOutcome?>? attempt)
    {
        attempt = null;
        if (!TakesBatches(upstream) || !BatchAnswer.IsMatchableId(item.Id.Span))
        {
            return false;
        }

        lock (_members)
        {
            if (_flushed)
            {
                return false;
            }

            foreach (var member in _members)
            {
                if (member.Upstream == upstream && member.Id.Span.SequenceEqual(item.Id.Span))
                {
                    return false;
                }
            }

            var joined = new Member(upstream, item.Raw, item.Id, timeout);
            _members.Add(joined);
            attempt = joined.Outcome.Task;
            return true;
        }
    }

    /// <summary>
    /// Sends what joined: one request per upstream, attempt timeout and `max_batch` items; an item
    /// left by itself is handed back to be sent alone. Items joining later are sent alone.
    /// </summary>
    public void Flush()
    {
        lock (_members)
        {
            _flushed = true;
        }

        var grouped = new bool[_members.Count];
        for (var first = 0; first < _members.Count; first++)
        {
            if (grouped[first])
            {
                continue;
            }

            var (upstream, timeout) = (_members[first].Upstream, _members[first].Timeout);
            // Re-checked here: a reload or chaos armed since the items joined sends them alone
            // (so method-aware faults still hit the methods they name).
            var size = _sender.IsPlain && TakesBatches(upstream) ? upstream.Options.MaxBatch : 1;
            var chunk = new List<Member>();
            for (var i = first; i < _members.Count; i++)
            {
                if (!grouped[i] && _members[i].Upstream == upstream && _members[i].Timeout == timeout)
                {
                    grouped[i] = true;
                    chunk.Add(_members[i]);
                    if (chunk.Count == size)
                    {
                        Send(upstream, chunk);
                        chunk = [];
                    }
                }
            }

            if (chunk.Count > 0)
            {
                Send(upstream, chunk);
            }
        }
    }

    /// <summary>
    /// Upstreams with a rate budget are never sent batches (providers count a batch's items, the
    /// budget counts requests), nor one that refused a batch within <see cref="RefusalCooldown"/>,
    /// nor one whose breaker is not closed (its half-open trial must be a request of its own).
    /// </summary>
    private bool TakesBatches(Upstream upstream) =>
        upstream.Options is { MaxBatch: >= 2, MaxRps: <= 0, MaxConcurrency: <= 0 }
        && upstream.CircuitState == Upstreams.Breakers.BreakerState.Closed
        && _time.GetTimestamp() >= upstream.TakesBatchesAgainAt;

    private void Send(Upstream upstream, List<Member> chunk)
    {
        if (chunk.Count == 1)
        {
            chunk[0].Outcome.TrySetResult(null);
            return;
        }

        _ = SendBatchAsync(upstream, chunk);
    }

    private async Task SendBatchAsync(Upstream upstream, List<Member> chunk)
    {
        try
        {
            // The items' bytes are copied here, before the first await: the client's request may end (a won hedge) while the batch is out.
            using var body = BatchBody(chunk);
            // Made for no one client item (coalescing is off while chaos is armed): no call, so upstream chaos leaves it alone.
            using var answer = await _sender.SendAsync(upstream, body.Memory, "batch", chunk[0].Timeout, call: null, _cancellationToken).ConfigureAwait(false);
            Distribute(upstream, chunk, answer);
        }
        catch (Exception ex)
        {
            // The sender reports failures as outcomes; anything thrown here is a defect: each item fails over rather than the whole client batch.
            foreach (var member in chunk)
            {
                member.Outcome.TrySetResult(Failed(upstream, AttemptKind.Transport, "batch_error: " + ex.GetType().Name, TimeSpan.Zero, null));
            }
        }
    }

    private static PooledBuffer BatchBody(List<Member> chunk)
    {
        var length = 1;
        foreach (var member in chunk)
        {
            length += member.Raw.Length + 1;
        }

        var body = new PooledBuffer(length);
        body.Write("["u8);
        for (var i = 0; i < chunk.Count; i++)
        {
            if (i > 0)
            {
                body.Write(","u8);
            }

            body.Write(chunk[i].Raw.Span);
        }

        body.Write("]"u8);
        return body;
    }

    /// <summary>
    /// Gives each item its own answer, or the batch's failure. The sender has already recorded the
    /// batch as one attempt (health, breaker, budget, metrics: see <see cref="BatchAnswer.Summarize"/>);
    /// items are not recorded again on their own, failing over is their remedy.
    /// </summary>
    private void Distribute(Upstream upstream, List<Member> chunk, AttemptOutcome answer)
    {
        if (answer.Reason == UpstreamSender.BatchRefused)
        {
            // The node takes single requests only (or not this many at once): for a while it gets them one by one.
            upstream.TakesBatchesAgainAt = _time.GetTimestamp() + (long)(RefusalCooldown.TotalSeconds * _time.TimestampFrequency);
            foreach (var member in chunk)
            {
                member.Outcome.TrySetResult(null);
            }

            return;
        }

        if (answer.Body is not { } batch || answer.BatchItems is not { } items)
        {
            // No answers to hand out (timeout, transport, HTTP 5xx/429, malformed): every item had the batch's failure.
            foreach (var member in chunk)
            {
                member.Outcome.TrySetResult(Failed(upstream, answer.Kind, answer.Reason, answer.Latency, answer));
            }

            return;
        }

        // Every item's answer is matched first, then handed out: a continuation handed its answer
        // (which may finish and answer a whole client request) runs before the next is matched, and
        // by then the item ids of that client's request are no longer to be read.
        var taken = new bool[items.Count];
        var outcomes = new AttemptOutcome[chunk.Count];
        for (var i = 0; i < chunk.Count; i++)
        {
            var index = BatchAnswer.Find(batch.Span, items, chunk[i].Id.Span, taken);
            outcomes[i] = index < 0
                ? Failed(upstream, AttemptKind.HttpError, "batch_item_missing", answer.Latency, answer)
                : ItemOutcome(upstream, batch.Span[items[index].Answer], items[index], answer);
        }

        for (var i = 0; i < chunk.Count; i++)
        {
            chunk[i].Outcome.TrySetResult(outcomes[i]);
        }
    }

    private static AttemptOutcome ItemOutcome(Upstream upstream, ReadOnlySpan<byte> json, BatchItem item, AttemptOutcome answer)
    {
        var body = new PooledBuffer(json.Length);
        body.Write(json);
        return new AttemptOutcome
        {
            Upstream = upstream,
            Kind = item.Kind,
            Reason = UpstreamSender.ReasonFor(item.Kind, item.Reply, 200),
            Reply = item.Reply,
            Latency = answer.Latency,
            Body = body,
            Batched = true,
        };
    }

    private static AttemptOutcome Failed(Upstream upstream, AttemptKind kind, string reason, TimeSpan latency, AttemptOutcome? answer) =>
        new() { Upstream = upstream, Kind = kind, Reason = reason, Latency = latency, RetryAfter = answer?.RetryAfter, Injected = answer?.Injected ?? false, Batched = true };

    private sealed class Member(Upstream upstream, ReadOnlyMemory<byte> raw, ReadOnlyMemory<byte> id, TimeSpan timeout)
    {
        public Upstream Upstream { get; } = upstream;
        public ReadOnlyMemory<byte> Raw { get; } = raw;
        public ReadOnlyMemory<byte> Id { get; } = id;
        public TimeSpan Timeout { get; } = timeout;

        // Continuations run inline where the batch's answer is handed out (no thread-pool hop per
        // item): an answered item finishes its dispatch (and, the last of its client request, writes
        // that reply), a failed one starts its failover (up to the send's first wait). Outcomes are
        // all built before the first is handed out (see Distribute).
        public TaskCompletionSource<AttemptOutcome?> Outcome { get; } = new();
    }
}
