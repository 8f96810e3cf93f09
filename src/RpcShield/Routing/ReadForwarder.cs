using Polly;
using Polly.Hedging;
using RpcShield.Chains;
using RpcShield.Upstreams.Heads;
using RpcShield.JsonRpc;
using RpcShield.Journal;
using RpcShield.Upstreams;

namespace RpcShield.Routing;

/// <summary>
/// Sends a read to the best upstream and, when that attempt fails for a reason that is the
/// node's fault, to the next-ranked one (never the same upstream twice), up to `retries`.
/// Built on Polly's hedging strategy: in fallback mode a new attempt starts when the previous
/// one fails; with a hedge delay it also starts when the previous one is merely slow.
/// </summary>
internal sealed class ReadForwarder
{
    private static readonly ResiliencePropertyKey<ForwardState> StateKey = new("rpcshield.forward");

    private readonly UpstreamSender _sender;
    private readonly TimeProvider _time;
    private readonly IHedgeDelayPolicy _hedgeDelay;
    private readonly ResiliencePipeline<AttemptOutcome> _pipeline;
    private readonly IFailureJournal _journal;
    private readonly Hosting.Security.SecretScrubber? _scrubber;

    public ReadForwarder(UpstreamSender sender, TimeProvider time, IHedgeDelayPolicy hedgeDelay, IFailureJournal? journal = null, Hosting.Security.SecretScrubber? scrubber = null)
    {
        _sender = sender;
        _scrubber = scrubber;
        _journal = journal ?? new NullFailureJournal();
        _time = time;
        _hedgeDelay = hedgeDelay;
        _pipeline = new ResiliencePipelineBuilder<AttemptOutcome> { TimeProvider = time }
            .AddHedging(new HedgingStrategyOptions<AttemptOutcome>
            {
                MaxHedgedAttempts = 10,
                Delay = Timeout.InfiniteTimeSpan,
                DelayGenerator = args =>
                {
                    var state = args.Context.Properties.GetValue(StateKey, null!);
                    return ValueTask.FromResult(state.HedgesLeft ? _hedgeDelay.DelayFor(state.Chain, state.Method, state.Hedgeable) : Timeout.InfiniteTimeSpan);
                },
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is null && args.Outcome.Result!.ShouldTryNext),
                ActionGenerator = args =>
                {
                    var state = args.PrimaryContext.Properties.GetValue(StateKey, null!);
                    var next = state.NextFor(out var hedge);
                    if (next is null)
                    {
                        return null;
                    }

                    if (hedge)
                    {
                        _hedgeDelay.Report(state.Chain, state.Method, HedgeResult.Sent);
                    }

                    var context = args.ActionContext;
                    return () => state.Forwarder.AttemptAsync(next, state, context.CancellationToken);
                },
            })
            .Build();
    }

    /// <summary>
    /// Forwards <paramref name="item"/>; never throws for upstream failures. <paramref name="call"/> is the
    /// client call it is made for (null for the proxy's own reads): it goes with every attempt (upstream-scope
    /// chaos applies to client calls only), joins the call's upstream batch, and labels journal entries with the bot's strategy.
    /// </summary>
    /// <remarks>
    /// Not an async method: the request is prepared synchronously and only the awaiting part
    /// (<see cref="ForwardAloneAsync"/>, <see cref="ForwardBatchedAsync"/> or <see cref="ForwardRankedAsync"/>) keeps a state machine,
    /// which then holds the request's state rather than every local of the preparation.
    /// </remarks>
    public ValueTask<ForwardResult> ForwardAsync(ChainRuntime chain, RpcRequestItem item, CancellationToken cancellationToken, RpcCall? call = null)
    {
        var routing = chain.Options.Routing;
        var traits = chain.Methods[item.Method];
        var maxExtra = Math.Max(0, _hedgeDelay.MaxExtra(chain));
        var candidates = HeadConsistency.Route(chain, item, chain.Candidates(traits.Eligible, routing.Retries + 1 + maxExtra), out var pinned);
        if (candidates.Length == 0)
        {
            return ValueTask.FromResult(traits.Eligible.Any
                ? ForwardResult.Error(RpcErrorCodes.NoUpstream, "No upstream could serve the request: none is healthy", [new AttemptRecord("*", "no_routable_upstream")])
                : ForwardResult.Error(RpcErrorCodes.MethodNotFound, $"Method {item.Method} is not served by any upstream of chain {chain.Name}"));
        }

        // The overall deadline is enforced per attempt (each gets min(per_attempt, time left)), so
        // no extra timer or linked token source is allocated per request.
        var deadline = traits.Deadline;
        var started = _time.GetTimestamp();
        // The first attempt's timeout, from configuration alone (not the clock): items of one method share it exactly, so they can share a batch.
        var firstTimeout = deadline < routing.Timeouts.PerAttempt ? deadline : routing.Timeouts.PerAttempt;
        Task<AttemptOutcome?>? batched = null;
        var joined = call?.Batch is { } batch && !pinned.Forces(candidates[0]) && batch.TryJoin(candidates[0], item, firstTimeout, out batched);
        if (candidates.Length == 1 && firstTimeout > TimeSpan.Zero)
        {
            // One candidate: its attempt (or its share of an upstream batch) is awaited inline, and the
            // request's bookkeeping (ForwardState) is only built if it fails: a first answer needs none.
            var request = new LoneRequest(chain, item.Raw, item.Method, candidates, call, started, deadline, pinned);
            return joined
                ? ForwardBatchedAsync(request, batched!, cancellationToken)
                : ForwardAloneAsync(request, _sender.Start(candidates[0], pinned.BodyFor(candidates[0], item.Raw), item.Method, firstTimeout, call, cancellationToken), cancellationToken);
        }

        var state = NewState(chain, item.Raw, item.Method, traits.Hedgeable, candidates, call, started, deadline, maxExtra, pinned);
        if (joined)
        {
            state.JoinedBatch(batched!);
        }

        return ForwardRankedAsync(state, cancellationToken);
    }

    private ForwardState NewState(ChainRuntime chain, ReadOnlyMemory<byte> body, string method, bool hedgeable, Upstream[] candidates, RpcCall? call, long started, TimeSpan deadline, int maxExtra, PinnedBody pinned)
    {
        var routing = chain.Options.Routing;
        return new ForwardState(this, chain, body, method, candidates, routing.Timeouts.PerAttempt, hedgeable, routing.Retries, maxExtra)
        {
            Call = call,
            Pinned = pinned,
            Started = started,
            Deadline = deadline,
        };
    }

    /// <summary>What a request sent to its only candidate needs kept while the attempt is out.</summary>
    private readonly record struct LoneRequest(ChainRuntime Chain, ReadOnlyMemory<byte> Body, string Method, Upstream[] Candidates, RpcCall? Call, long Started, TimeSpan Deadline, PinnedBody Pinned);

    private async ValueTask<ForwardResult> ForwardAloneAsync(LoneRequest request, AttemptInFlight attempt, CancellationToken cancellationToken)
    {
        // Awaited on its own line: what an expression reads before an await is copied into the state machine.
        var pipelineOutcome = await attempt.Outcome.ConfigureAwait(false);
        var outcome = _sender.Settle(ref attempt, pipelineOutcome);
        if (IsFirstAnswer(outcome))
        {
            _hedgeDelay.Observe(request.Chain, request.Method, outcome);
            return ServedAlone(outcome);
        }

        var state = FailedAlone(request);
        return Finish(state, Attempted(state, outcome), cancellationToken);
    }

    /// <summary>The only candidate, first tried in an upstream batch: no hedge can start, so the batch is awaited as it is.</summary>
    private async ValueTask<ForwardResult> ForwardBatchedAsync(LoneRequest request, Task<AttemptOutcome?> batched, CancellationToken cancellationToken)
    {
        var outcome = await batched.ConfigureAwait(false);
        if (IsFirstAnswer(outcome))
        {
            return ServedAlone(outcome);
        }

        var state = FailedAlone(request);
        outcome ??= await SendAfterBatch(state, request.Candidates[0], cancellationToken).ConfigureAwait(false);
        return Finish(state, Attempted(state, outcome), cancellationToken);
    }

    private static bool IsFirstAnswer([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] AttemptOutcome? outcome) => outcome is { Kind: AttemptKind.Answered, Body: not null };

    /// <summary>A lone request's first answer, served with nothing to journal or report.</summary>
    private static ForwardResult ServedAlone(AttemptOutcome answer) =>
        ForwardResult.Served(answer.TakeBody()!, answer.Upstream, answer.Reply.HasError, []);

    /// <summary>A lone request whose first attempt did not answer: from here on exactly as any (journal, the node's own error, the deadline).</summary>
    private ForwardState FailedAlone(LoneRequest request)
    {
        // One candidate: there is nothing to hedge to.
        var state = NewState(request.Chain, request.Body, request.Method, request.Chain.Methods[request.Method].Hedgeable, request.Candidates, request.Call, request.Started, request.Deadline, maxExtra: 0, request.Pinned);
        state.Next();
        return state;
    }

    /// <summary>Several candidates: Polly's hedging runs the attempts (failover on failure, a hedge when slow).</summary>
    private async ValueTask<ForwardResult> ForwardRankedAsync(ForwardState state, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StateKey, state);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static (ctx, s) => s.Forwarder.AttemptAsync(s.Next()!, s, ctx.CancellationToken), context, state).ConfigureAwait(false);
            return Finish(state, outcome, cancellationToken);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ForwardResult Finish(ForwardState state, Outcome<AttemptOutcome> outcome, CancellationToken cancellationToken)
    {
        if (state.TakeBatched(state.FirstCandidate) is { } untaken)
        {
            // Joined a batch but never attempted (no time left, cancelled before the first attempt).
            DisposeWhenDone(untaken);
        }

        var result = state.Finish(outcome, _time.GetElapsedTime(state.Started) >= state.Deadline && !cancellationToken.IsCancellationRequested);
        if (state.Hedges > 0 && result.ServedBy is { } served)
        {
            _hedgeDelay.Report(state.Chain, state.Method, state.WasHedge(served) ? HedgeResult.Won : HedgeResult.Lost);
        }

        return result;
    }

    private async ValueTask<Outcome<AttemptOutcome>> AttemptAsync(Upstream upstream, ForwardState state, CancellationToken cancellationToken)
    {
        if (!TryBegin(upstream, state, out var timeout, out var expired))
        {
            return expired;
        }

        var attempt = Send(upstream, state, timeout, cancellationToken);
        var pipelineOutcome = await attempt.Outcome.ConfigureAwait(false);
        return Attempted(state, _sender.Settle(ref attempt, pipelineOutcome));
    }

    /// <summary>
    /// The attempt on <paramref name="upstream"/>: this item's share of an upstream batch when it
    /// joined one, else a send of its own, awaited (and settled) by the caller's state machine.
    /// </summary>
    private AttemptInFlight Send(Upstream upstream, ForwardState state, TimeSpan timeout, CancellationToken cancellationToken) =>
        state.TakeBatched(upstream) is { } batched
            ? AttemptInFlight.NothingToSettle(AwaitBatchedAsync(batched, upstream, state, cancellationToken))
            : _sender.Start(upstream, state.BodyFor(upstream), state.Method, timeout, state.Call, cancellationToken);

    private async ValueTask<Outcome<AttemptOutcome>> AwaitBatchedAsync(Task<AttemptOutcome?> batched, Upstream upstream, ForwardState state, CancellationToken cancellationToken)
    {
        AttemptOutcome? outcome;
        try
        {
            // The attempt's own token: a hedge that won (or a client that left) stops waiting for the batch.
            // Without a possible hedge only a client that left could: it lets the batch finish (the attempt
            // timeout bounds it) rather than register a wait per item.
            outcome = state.MayHedge
                ? await batched.WaitAsync(cancellationToken).ConfigureAwait(false)
                : await batched.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            DisposeWhenDone(batched);
            return Outcome.FromResult(new AttemptOutcome { Upstream = upstream, Kind = AttemptKind.Cancelled, Reason = "cancelled" });
        }

        return Outcome.FromResult(outcome ?? await SendAfterBatch(state, upstream, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A batched item handed back (it ended up alone, or the node refused the batch): sent on its own, in the time left now.</summary>
    private ValueTask<AttemptOutcome> SendAfterBatch(ForwardState state, Upstream upstream, CancellationToken cancellationToken) =>
        TimeLeft(state) is { } timeout
            ? SendAloneAsync(upstream, state.BodyFor(upstream), state.Method, timeout, state.Call, cancellationToken)
            : ValueTask.FromResult(DeadlineExceeded(upstream));

    /// <summary>As <see cref="UpstreamSender.SendAsync"/>, but an unconfirmed error is left for the request to judge.</summary>
    private async ValueTask<AttemptOutcome> SendAloneAsync(Upstream upstream, ReadOnlyMemory<byte> body, string method, TimeSpan timeout, RpcCall? call, CancellationToken cancellationToken)
    {
        var attempt = _sender.Start(upstream, body, method, timeout, call, cancellationToken);
        var pipelineOutcome = await attempt.Outcome.ConfigureAwait(false);
        return _sender.Settle(ref attempt, pipelineOutcome);
    }

    /// <summary>A batched outcome nobody will read (a hedge won, the client left): its buffer goes back to the pool when it arrives.</summary>
    private static void DisposeWhenDone(Task<AttemptOutcome?> batched) =>
        batched.ContinueWith(static late => late.Result?.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

    /// <summary>A coalescer for one client batch's reads (null while chaos is armed: items go one by one to meet method-aware faults).</summary>
    public BatchCoalescer? CoalesceBatch(CancellationToken cancellationToken) =>
        _sender.IsPlain ? new BatchCoalescer(_sender, _time, cancellationToken) : null;

    /// <summary>The attempt's timeout: min(per attempt, time left); false (with a local outcome) when no time is left.</summary>
    private bool TryBegin(Upstream upstream, ForwardState state, out TimeSpan timeout, out Outcome<AttemptOutcome> expired)
    {
        if (TimeLeft(state) is not { } left)
        {
            // Out of time: not the upstream's fault, so nothing is recorded against it.
            var late = DeadlineExceeded(upstream);
            state.Record(late);
            (timeout, expired) = (TimeSpan.Zero, Outcome.FromResult(late));
            return false;
        }

        (timeout, expired) = (left, default);
        return true;
    }

    /// <summary>An attempt not made because the request's deadline passed: not the upstream's fault, nothing recorded against it.</summary>
    private static AttemptOutcome DeadlineExceeded(Upstream upstream) =>
        AttemptOutcome.Refused(upstream, "deadline_exceeded");

    /// <summary>min(per attempt, time left of the request's deadline); null when no time is left.</summary>
    private TimeSpan? TimeLeft(ForwardState state)
    {
        var left = state.Deadline - _time.GetElapsedTime(state.Started);
        return left <= TimeSpan.Zero ? null : left < state.AttemptTimeout ? left : state.AttemptTimeout;
    }

    private Outcome<AttemptOutcome> Attempted(ForwardState state, AttemptOutcome attempt)
    {
        if (!attempt.Batched)
        {
            // A batch's latency is not this method's: hedge delays are cut from attempts sent alone.
            _hedgeDelay.Observe(state.Chain, state.Method, attempt);
        }

        return Outcome.FromResult(state.Record(attempt));
    }

    /// <summary>Per-request bookkeeping shared by the attempts of one request (hedges run in parallel).</summary>
    private sealed class ForwardState(ReadForwarder forwarder, ChainRuntime chain, ReadOnlyMemory<byte> body, string method, Upstream[] candidates, TimeSpan attemptTimeout, bool hedgeable, int retries, int maxExtra)
    {
        // Failures only: a request its first upstream answers allocates no list.
        private List<AttemptRecord>? _attempts;
        // Built only for several candidates or a failed first attempt, never on the lone happy path.
        private readonly Lock _gate = new();
        private AttemptOutcome? _bestNodeError;
        // Errors no second node has judged yet (AttemptKind.Unconfirmed), best-ranked first; they own their bodies.
        private List<AttemptOutcome>? _unconfirmed;
        private bool _finished;
        private int _next;
        private int _hedges;
        private int _failures;
        private int _failovers;
        private Upstream[]? _hedged;
        private Task<AttemptOutcome?>? _batchedFirst;

        public ReadForwarder Forwarder { get; } = forwarder;
        public ChainRuntime Chain { get; } = chain;
        // The item's bytes and method only: the whole item is a 56-byte struct kept per request.
        public ReadOnlyMemory<byte> Body { get; } = body;
        public string Method { get; } = method;
        public TimeSpan AttemptTimeout { get; } = attemptTimeout;
        public bool Hedgeable { get; } = hedgeable;
        public RpcCall? Call { get; init; }

        /// <summary>`latest` pinned to a number for the nodes behind it: such a node has nothing to say to the client.</summary>
        public PinnedBody Pinned { get; init; }

        /// <summary>What <paramref name="upstream"/> is sent: the pinned bytes when it is behind the pinned block.</summary>
        public ReadOnlyMemory<byte> BodyFor(Upstream upstream) => Pinned.BodyFor(upstream, Body);

        /// <summary>Timestamp (TimeProvider) when forwarding started, and the overall budget from then.</summary>
        public long Started { get; init; }

        public TimeSpan Deadline { get; init; }

        /// <summary>The item joined an upstream batch to its first candidate (<see cref="BatchCoalescer"/>).</summary>
        public void JoinedBatch(Task<AttemptOutcome?> firstAttempt) => _batchedFirst = firstAttempt;

        /// <summary>The batched first attempt, once, for the upstream it was batched to.</summary>
        public Task<AttemptOutcome?>? TakeBatched(Upstream upstream) =>
            upstream == candidates[0] ? Interlocked.Exchange(ref _batchedFirst, null) : null;

        public Upstream FirstCandidate => candidates[0];

        public Upstream? Next()
        {
            var index = Interlocked.Increment(ref _next) - 1;
            return index < candidates.Length ? candidates[index] : null;
        }

        public int Hedges => Volatile.Read(ref _hedges);

        /// <summary>True when a hedge (a parallel attempt because the previous one is slow) can ever start for this request.</summary>
        public bool MayHedge => Hedgeable && maxExtra > 0 && candidates.Length > 1;

        /// <summary>True while another hedge (a parallel attempt because the previous one is slow) may start.</summary>
        public bool HedgesLeft => Volatile.Read(ref _hedges) < maxExtra;

        /// <summary>
        /// The next upstream for a new attempt. It is a failover when an attempt has failed that no
        /// failover answered yet (at most `retries`), otherwise a hedge (at most `max_extra`).
        /// </summary>
        public Upstream? NextFor(out bool hedge)
        {
            lock (_gate)
            {
                hedge = _failures <= _failovers;
                if (hedge ? _hedges >= maxExtra : _failovers >= retries)
                {
                    return null;
                }

                var next = Next();
                while (next is not null && _unconfirmed is not null && !next.Options.Trusted && AnyTrusted())
                {
                    // Every attempt while an error awaits a second opinion confirms it: trusted upstreams only, when any is marked.
                    next = Next();
                }

                if (next is null)
                {
                    return null;
                }

                if (hedge)
                {
                    _hedged ??= new Upstream[maxExtra];
                    _hedged[_hedges++] = next;
                }
                else
                {
                    _failovers++;
                }

                return next;
            }
        }

        public bool WasHedge(Upstream upstream)
        {
            lock (_gate)
            {
                return _hedged is not null && Array.IndexOf(_hedged, upstream, 0, _hedges) >= 0;
            }
        }

        /// <summary>
        /// Records an attempt's outcome and returns what the request makes of it: an unconfirmed error
        /// another node shares comes back as the request's answer.
        /// </summary>
        public AttemptOutcome Record(AttemptOutcome attempt)
        {
            switch (attempt.Kind)
            {
                case AttemptKind.Cancelled:
                    return attempt;
                case AttemptKind.Answered:
                    if (Volatile.Read(ref _unconfirmed) is not null)
                    {
                        lock (_gate)
                        {
                            // An answer no unconfirmed error shared: those were their nodes' faults.
                            JudgeUnconfirmed(shared: null);
                        }
                    }

                    return attempt;
                case AttemptKind.Unconfirmed when attempt.Body is not null:
                    return Weigh(attempt);
            }

            lock (_gate)
            {
                _failures++;
                Failed(attempt);

                // Keep the most informative node answer (a JSON-RPC error beats a transport failure).
                if (attempt.Reply.IsJsonRpc && attempt.Body is not null && !(Pinned.IsPinned && attempt.Kind == AttemptKind.Behind))
                {
                    _bestNodeError?.Dispose();
                    _bestNodeError = Kept(attempt);
                }
            }

            return attempt;
        }

        /// <summary>An unconfirmed error: the request's answer when an earlier one matches it (same code and data), else kept for a second opinion.</summary>
        private AttemptOutcome Weigh(AttemptOutcome attempt)
        {
            lock (_gate)
            {
                if (_finished)
                {
                    return attempt;
                }

                if (_unconfirmed is { } earlier)
                {
                    foreach (var other in earlier)
                    {
                        if (ErrorAgreement.Same(other.Body!.Span, attempt.Body!.Span))
                        {
                            // Two nodes agree: the request's own answer, counted against no node.
                            JudgeUnconfirmed(shared: other);
                            Forwarder._sender.Judge(attempt, fault: false);
                            return new AttemptOutcome
                            {
                                Upstream = attempt.Upstream, Kind = AttemptKind.Answered, Reason = attempt.Reason, Reply = attempt.Reply,
                                Latency = attempt.Latency, Batched = attempt.Batched, Body = attempt.TakeBody(),
                            };
                        }
                    }
                }

                // A failure for now (the next attempt is a failover, not a hedge), judged when the request ends.
                _failures++;
                (_unconfirmed ??= new(2)).Add(Kept(attempt));
                return attempt;
            }
        }

        /// <summary>
        /// Judges the unconfirmed errors (under the lock) and disposes them: <paramref name="shared"/>
        /// (every one with <paramref name="noneRefuted"/>) is booked as its node's answer, any other
        /// as its node's fault (another node answered differently).
        /// </summary>
        private void JudgeUnconfirmed(AttemptOutcome? shared, bool noneRefuted = false)
        {
            if (_unconfirmed is not { } pending)
            {
                return;
            }

            _unconfirmed = null;
            foreach (var error in pending)
            {
                var fault = !noneRefuted && error != shared;
                Forwarder._sender.Judge(error, fault);
                if (fault)
                {
                    Failed(error);
                }

                error.Dispose();
            }
        }

        /// <summary>A failed attempt in the request's record: -32090's attempts, the failover metric, the journal.</summary>
        private void Failed(AttemptOutcome attempt)
        {
            (_attempts ??= new(candidates.Length)).Add(new AttemptRecord(attempt.Upstream.Name, attempt.Reason));
            attempt.Upstream.Metrics.Failover(FailoverReason.Label(attempt.Kind));
            if (!attempt.Injected)
            {
                // Injected failures are journaled as kind `chaos`, never as the upstream's own failures.
                Journal(JournalKinds.FailedAttempt, attempt.Upstream.Name, attempt.Reason, attempt.Latency.TotalMilliseconds, null);
            }
        }

        /// <summary>A copy that owns the attempt's body (the original is disposed with the request's last outcome).</summary>
        private static AttemptOutcome Kept(AttemptOutcome attempt) =>
            new() { Upstream = attempt.Upstream, Kind = attempt.Kind, Reason = attempt.Reason, Reply = attempt.Reply, Latency = attempt.Latency, Batched = attempt.Batched, Body = attempt.TakeBody() };

        /// <summary>True when any upstream of the chain is marked `trusted` (failure path only).</summary>
        private bool AnyTrusted()
        {
            foreach (var upstream in Chain.Upstreams)
            {
                if (upstream.Options.Trusted)
                {
                    return true;
                }
            }

            return false;
        }

        public ForwardResult Finish(Outcome<AttemptOutcome> outcome, bool deadlinePassed)
        {
            var attempt = outcome.Result;
            lock (_gate)
            {
                _finished = true;
                if (attempt is { Kind: AttemptKind.Answered, Body: not null })
                {
                    _bestNodeError?.Dispose();
                    if (_attempts is not null)
                    {
                        Journal(JournalKinds.Failover, attempt.Upstream.Name, "recovered", attempt.Latency.TotalMilliseconds, AttemptsNote());
                    }

                    return ForwardResult.Served(attempt.TakeBody()!, attempt.Upstream, attempt.Reply.HasError, Attempts());
                }

                attempt?.Dispose();
                if (_unconfirmed is [var first, ..])
                {
                    // No second node answered (or none agreed): the best-ranked node's error is the answer, counted against no node.
                    _bestNodeError?.Dispose();
                    var body = first.TakeBody()!;
                    JudgeUnconfirmed(shared: null, noneRefuted: true);
                    return ForwardResult.Served(body, first.Upstream, nodeError: true, Attempts());
                }

                if (_bestNodeError?.Body is not null)
                {
                    // Every node failed, at least one with a JSON-RPC error: pass the node's own words on.
                    // A failing node's words may quote its own URL's key: scrubbed (a node's answers, reverts included, are not).
                    var body = _bestNodeError.TakeBody()!;
                    return ForwardResult.Served(Forwarder._scrubber?.Scrub(body) ?? body, _bestNodeError.Upstream, nodeError: true, Attempts());
                }

                if (deadlinePassed)
                {
                    (_attempts ??= new(1)).Add(new AttemptRecord("*", "deadline_exceeded"));
                }

                Journal(JournalKinds.Failover, null, "exhausted", null, AttemptsNote());
                return ForwardResult.Error(RpcErrorCodes.NoUpstream, "No upstream could serve the request", Attempts());
            }
        }

        /// <summary>Journals a failure-relevant event (failure path only: the happy path allocates nothing here).</summary>
        private void Journal(string kind, string? upstream, string reason, double? latencyMs, string? note) =>
            Forwarder._journal.Record(new JournalEntry
            {
                Kind = kind,
                Timestamp = Forwarder._time.GetUtcNow(),
                Chain = Chain.Name,
                Strategy = Call?.Strategy,
                HeadBlock = Chain.BestHead is > 0 and var head ? head : null,
                Method = Method,
                Reason = reason,
                LatencyMs = latencyMs,
                Upstream = upstream,
                Note = note,
            });

        private AttemptRecord[] Attempts() => _attempts?.ToArray() ?? [];

        private string AttemptsNote() => string.Join(", ", Attempts().Select(a => $"{a.Upstream}: {a.Reason}"));
    }
}
