using System.Diagnostics;
using Polly;
using Polly.Timeout;
using RpcShield.JsonRpc;

namespace RpcShield.Upstreams;

/// <summary>
/// Sends one JSON-RPC body to one upstream and reads the answer into a pooled buffer. Every
/// attempt's result is recorded on the upstream (latency, error window, passive health, metrics).
/// </summary>
internal sealed class UpstreamSender
{
    /// <summary>Upper bound of one upstream response (large traces are hundreds of MB at worst).</summary>
    public const long MaxResponseBytes = 512L * 1024 * 1024;

    private readonly TimeProvider _time;
    private readonly IUpstreamStrategyContributor[] _contributors;
    private readonly IUpstreamStrategyContributor[] _optional;
    private readonly IAttemptGuard[] _guards;
    private readonly Hosting.Security.SecretScrubber? _scrubber;
    private readonly Telemetry.RpcTracing? _tracing;

    public UpstreamSender(TimeProvider time, IEnumerable<IUpstreamStrategyContributor> contributors, IEnumerable<IAttemptGuard> guards, Hosting.Security.SecretScrubber? scrubber = null, Telemetry.RpcTracing? tracing = null)
    {
        _time = time;
        _tracing = tracing;
        _scrubber = scrubber;
        _guards = guards.ToArray();
        _contributors = contributors.OrderBy(c => c.Order).ToArray();
        _optional = _contributors.Where(c => c.CanBeDormant).ToArray();
    }

    /// <summary>Raised when an upstream's health status changed because of a request (re-rank now).</summary>
    public event Action<Upstream>? HealthChanged;

    /// <summary>
    /// Admits the attempt (budget guards), sends it through the upstream's attempt pipeline (breaker,
    /// chaos contributors) and records the outcome. Never throws for upstream failures or
    /// cancellation of <paramref name="cancellationToken"/> (those are outcomes). An
    /// <see cref="AttemptKind.Unconfirmed"/> error is booked as the node's answer: no second node judges it here.
    /// <paramref name="call"/> is the client call the attempt is made for, null for the proxy's own
    /// requests (probes, polls, background work): upstream-scope chaos touches only attempts that have one.
    /// </summary>
    public async ValueTask<AttemptOutcome> SendAsync(Upstream upstream, ReadOnlyMemory<byte> body, string method, TimeSpan attemptTimeout, RpcCall? call, CancellationToken cancellationToken)
    {
        var attempt = Start(upstream, body, method, attemptTimeout, call, cancellationToken);
        var outcome = await attempt.Outcome.ConfigureAwait(false);
        var settled = Settle(ref attempt, outcome);
        if (settled.Kind == AttemptKind.Unconfirmed)
        {
            Judge(settled, fault: false);
        }

        return settled;
    }

    /// <summary>
    /// Books an <see cref="AttemptKind.Unconfirmed"/> error (counted against nothing when it arrived)
    /// once it is judged: as the node's answer, or as its fault when another node did not share it.
    /// An item of an upstream batch is not booked on its own (the batch was, as one attempt).
    /// </summary>
    public void Judge(AttemptOutcome unconfirmed, bool fault)
    {
        if (unconfirmed.Batched || unconfirmed.Injected)
        {
            return;
        }

        Book(unconfirmed.Upstream, fault ? AttemptKind.NodeError : AttemptKind.Answered, unconfirmed.Reason, unconfirmed.Latency, hard: false, recordLatency: true);
    }

    /// <summary>
    /// An observation request (a head poll): admitted by the budget guards like any attempt (it
    /// counts against a rate budget), but its result is recorded nowhere else: not in health,
    /// latency, error window, breaker or metrics, since a cheap call answering says nothing about
    /// the node's real requests. Returns the answer's body (the caller disposes it), or null.
    /// </summary>
    public async ValueTask<PooledBuffer?> ObserveAsync(Upstream upstream, ReadOnlyMemory<byte> body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _guards.Length; i++)
        {
            if (_guards[i].Admit(upstream) is { } refusal)
            {
                for (var admitted = 0; admitted < i; admitted++)
                {
                    _guards[admitted].Completed(upstream, refusal);
                }

                return null;
            }
        }

        var kind = AttemptKind.Transport;
        var buffer = new PooledBuffer();
        try
        {
            using var linked = new AttemptCancellation(_time, timeout, cancellationToken);
            var response = await upstream.Transport.PostAsync(body, buffer, MaxResponseBytes, linked.Token).ConfigureAwait(false);
            kind = response.TooLarge ? AttemptKind.HttpError : FailureClassifier.ClassifyStatus((System.Net.HttpStatusCode)response.StatusCode);
            if (kind != AttemptKind.Answered)
            {
                return null;
            }

            var answer = buffer;
            buffer = null;
            return answer;
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            return null;
        }
        finally
        {
            buffer?.Dispose();
            var outcome = new AttemptOutcome { Upstream = upstream, Kind = kind, Reason = kind == AttemptKind.Answered ? "ok" : "observe_failed" };
            foreach (var guard in _guards)
            {
                guard.Completed(upstream, outcome);
            }
        }
    }

    /// <summary>
    /// <see cref="SendAsync"/> for a caller that awaits in its own state machine (the read path):
    /// await <see cref="AttemptInFlight.Outcome"/>, then hand it to <see cref="Settle"/> (by ref: settled once).
    /// Saves the sender's own state machine, about 0.2 KB per attempt. <paramref name="call"/> as for <see cref="SendAsync"/>.
    /// </summary>
    public AttemptInFlight Start(Upstream upstream, ReadOnlyMemory<byte> body, string method, TimeSpan attemptTimeout, RpcCall? call, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _guards.Length; i++)
        {
            if (_guards[i].Admit(upstream) is { } refusal)
            {
                for (var admitted = 0; admitted < i; admitted++)
                {
                    _guards[admitted].Completed(upstream, refusal);
                }

                return AttemptInFlight.NothingToSettle(refusal);
            }
        }

        if (_contributors.Length == 0)
        {
            return new AttemptInFlight(upstream, SendCoreAsync(upstream, body, attemptTimeout, cancellationToken), null, plain: true, cancellationToken);
        }

        // Decided once per attempt: chaos (when armed) waits on the context's token, the breaker alone needs none.
        var plain = IsPlain;
        var context = plain ? AttemptContextPool.Shared.Get() : ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = (upstream.AttemptPipeline ??= BuildPipeline(upstream, optional: false)).ExecuteOutcomeAsync(
                static (ctx, s) => s.Sender.SendInnermostAsync(ctx, s), context, new SendState(this, upstream, body, method, attemptTimeout, call, plain, cancellationToken));
            return new AttemptInFlight(upstream, outcome, context, plain, cancellationToken);
        }
        catch
        {
            // Nothing was sent (the pipeline could not be built): the guards get their slot back.
            Release(upstream, context, plain, null);
            throw;
        }
    }

    /// <summary>The attempt's outcome once its pipeline finished: the context goes back to its pool, the guards learn the result.</summary>
    public AttemptOutcome Settle(ref AttemptInFlight attempt, Outcome<AttemptOutcome> outcome)
    {
        if (attempt.Upstream is not { } upstream)
        {
            return outcome.Result!;
        }

        if (!attempt.TrySettle())
        {
            // Settled already: nothing goes back to a pool or a guard twice.
            return outcome.Result ?? AttemptOutcome.Refused(upstream, "pipeline_error");
        }

        var settled = outcome.Exception switch
        {
            null => outcome.Result!,
            OperationCanceledException when attempt.Cancellation.IsCancellationRequested => new AttemptOutcome { Upstream = upstream, Kind = AttemptKind.Cancelled, Reason = "cancelled" },
            // The breaker refuses by throwing; mapped here rather than by one more strategy layer per attempt.
            Polly.CircuitBreaker.BrokenCircuitException => AttemptOutcome.Refused(upstream, "circuit_open"),
            _ => Finish(upstream, AttemptKind.Transport, "pipeline_error", _time.GetTimestamp(), default, null),
        };

        Release(upstream, attempt.Context, attempt.Plain, settled);
        _tracing?.Attempt(settled);
        return settled;
    }

    private void Release(Upstream upstream, ResilienceContext? context, bool plain, AttemptOutcome? outcome)
    {
        if (context is not null)
        {
            if (plain)
            {
                AttemptContextPool.Shared.Return(context);
            }
            else
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        foreach (var guard in _guards)
        {
            guard.Completed(upstream, outcome);
        }
    }

    /// <summary>
    /// Inside the always-on strategies: dormant-capable ones (chaos, innermost by order) run as a
    /// nested pipeline on the same context only while one of them is active.
    /// </summary>
    private ValueTask<Outcome<AttemptOutcome>> SendInnermostAsync(ResilienceContext context, SendState state)
    {
        // A plain attempt's context carries no token: chaos armed since it started does not see it.
        if (state.Plain || _optional.Length == 0 || AllOptionalDormant())
        {
            return SendCoreAsync(state.Upstream, state.Body, state.Timeout, state.Cancellation);
        }

        // Only chaos reads what is being sent and for whom: boxing the body into the context is paid only while it is armed.
        context.Properties.Set(AttemptKeys.Body, state.Body);
        context.Properties.Set(AttemptKeys.Method, state.Method);
        context.Properties.Set(AttemptKeys.Call, state.Call);
        var optional = state.Upstream.OptionalAttemptPipeline ??= BuildPipeline(state.Upstream, optional: true);
        return optional.ExecuteOutcomeAsync(static (ctx, s) => s.Sender.SendCoreAsync(s.Upstream, s.Body, s.Timeout, s.Cancellation), context, state);
    }

    /// <summary>True while no dormant-capable strategy (chaos) is active: attempts are sent as they are.</summary>
    public bool IsPlain => _optional.Length == 0 || AllOptionalDormant();

    private bool AllOptionalDormant()
    {
        foreach (var contributor in _optional)
        {
            if (!contributor.IsDormant)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The always-on strategies (<paramref name="optional"/> false) or the dormant-capable ones.</summary>
    private ResiliencePipeline<AttemptOutcome> BuildPipeline(Upstream upstream, bool optional)
    {
        var builder = new ResiliencePipelineBuilder<AttemptOutcome> { TimeProvider = _time, Name = upstream.Name };
        foreach (var contributor in _contributors)
        {
            if (contributor.CanBeDormant == optional)
            {
                contributor.Contribute(builder, upstream);
            }
        }

        return builder.Build();
    }

    /// <summary>Polly's callback state: a struct, so passing it allocates nothing.</summary>
    private readonly record struct SendState(UpstreamSender Sender, Upstream Upstream, ReadOnlyMemory<byte> Body, string Method, TimeSpan Timeout, RpcCall? Call, bool Plain, CancellationToken Cancellation);

    /// <summary>The raw attempt: one HTTP exchange, classified and recorded (as Polly's outcome: no wrapping frame).</summary>
    internal async ValueTask<Outcome<AttemptOutcome>> SendCoreAsync(Upstream upstream, ReadOnlyMemory<byte> body, TimeSpan attemptTimeout, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        upstream.Enter();
        using var linked = new AttemptCancellation(_time, attemptTimeout, cancellationToken);
        PooledBuffer? buffer = null;
        try
        {
            buffer = new PooledBuffer();
            var response = await upstream.Transport.PostAsync(body, buffer, MaxResponseBytes, linked.Token).ConfigureAwait(false);
            if (response.TooLarge)
            {
                return Outcome.FromResult(Finish(upstream, AttemptKind.HttpError, "response_too_large", start, default, null));
            }

            var kind = FailureClassifier.ClassifyStatus((System.Net.HttpStatusCode)response.StatusCode);
            var reply = UpstreamReply.NotJsonRpc;
            // A client's item is always an object; only a BatchCoalescer sends an array.
            var batch = IsBatch(body.Span);
            // HTTP 4xx other than 408/429 to a batch: too large, not supported, … (the items may still go alone).
            var refused = batch && response.StatusCode is >= 400 and < 500 and not 408 and not 429;
            List<BatchItem>? items = null;
            if (kind == AttemptKind.Answered)
            {
                reply = batch ? BatchAnswer.Summarize(buffer.Span, out refused, out items) : UpstreamReply.Inspect(buffer.Span, response.Framed);
                kind = FailureClassifier.ClassifyReply(reply);
                if (kind is AttemptKind.NodeError or AttemptKind.Answered or AttemptKind.Unconfirmed && reply.HasError && !batch && Heads.MissingBlock.IsBehind(upstream, reply, body.Span))
                {
                    kind = AttemptKind.Behind;
                }
            }

            if (refused)
            {
                // A node that takes no batches (or not this one) is neither failing nor answering: only counted
                // as `batch_refused` (a local-refusal kind, so health and the budget ignore it), its items go alone.
                upstream.Metrics.BatchRefused.Inc();
                return Outcome.FromResult(new AttemptOutcome { Upstream = upstream, Kind = AttemptKind.Rejected, Reason = BatchRefused, Latency = _time.GetElapsedTime(start) });
            }

            // A batch's latency is not a request's: it never feeds the latency ranking or the duration histogram.
            var outcome = Finish(upstream, kind, Scrubbed(ReasonFor(kind, reply, response.StatusCode), kind), start, reply, response.RetryAfter, recordLatency: !batch);
            outcome.Body = buffer;
            outcome.BatchItems = items;
            buffer = null;
            return Outcome.FromResult(outcome);
        }
        catch (OperationCanceledException) when (linked.TimedOut)
        {
            return Outcome.FromResult(Finish(upstream, AttemptKind.Timeout, "timeout", start, default, null));
        }
        catch (TimeoutRejectedException)
        {
            return Outcome.FromResult(Finish(upstream, AttemptKind.Timeout, "timeout", start, default, null));
        }
        catch (OperationCanceledException)
        {
            return Outcome.FromResult(Finish(upstream, AttemptKind.Cancelled, "cancelled", start, default, null));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            var (reason, hard) = FailureClassifier.Describe(ex);
            return Outcome.FromResult(Finish(upstream, AttemptKind.Transport, reason, start, default, null, hard));
        }
        catch (Exception ex)
        {
            // As Polly hands on a callback's exception: an outcome, never a throw (Settle always runs).
            return Outcome.FromException<AttemptOutcome>(ex);
        }
        finally
        {
            buffer?.Dispose();
            upstream.Exit();
        }
    }

    private AttemptOutcome Finish(Upstream upstream, AttemptKind kind, string reason, long start, UpstreamReply reply, TimeSpan? retryAfter, bool hard = false, bool recordLatency = true)
    {
        var latency = _time.GetElapsedTime(start);
        Book(upstream, kind, reason, latency, hard, recordLatency);
        return new AttemptOutcome { Upstream = upstream, Kind = kind, Reason = reason, Reply = reply, Latency = latency, RetryAfter = retryAfter };
    }

    /// <summary>Records an attempt's result on its upstream: metrics, latency, error window, passive health.</summary>
    private void Book(Upstream upstream, AttemptKind kind, string reason, TimeSpan latency, bool hard, bool recordLatency)
    {
        var metrics = upstream.Metrics;
        switch (kind)
        {
            case AttemptKind.Answered:
            case AttemptKind.Unsupported:
                metrics.Ok.Inc();
                if (recordLatency)
                {
                    metrics.Duration.Observe(latency.TotalSeconds);
                    upstream.Latency.Record(latency);
                }

                upstream.Errors.Record(success: true);
                upstream.Health.RequestSucceeded();
                break;
            case AttemptKind.Throttled:
                metrics.Throttled.Inc();
                break;
            case AttemptKind.Cancelled:
            case AttemptKind.Behind:
            case AttemptKind.Unconfirmed:
                // Unconfirmed errors are booked when judged (Judge): only a fault another node does not share counts against a node.
                break;
            default:
                (kind == AttemptKind.Timeout ? metrics.Timeout : metrics.Error).Inc();
                upstream.Errors.Record(success: false);
                if (upstream.Health.Failed(reason, hard))
                {
                    HealthChanged?.Invoke(upstream);
                }

                break;
        }
    }

    /// <summary>The secret-free reason of a classified answer (`ok`, `invalid_response`, `http_503`, `-32000 header not found`).</summary>
    internal static string ReasonFor(AttemptKind kind, UpstreamReply reply, int statusCode) => kind switch
    {
        AttemptKind.Answered => "ok",
        AttemptKind.HttpError when statusCode is >= 200 and < 300 => "invalid_response",
        AttemptKind.HttpError or AttemptKind.Throttled when statusCode is < 200 or >= 300 => $"http_{statusCode}",
        _ => $"{reply.ErrorCode} {Truncate(reply.ErrorMessage)}",
    };

    /// <summary>A reason quoting the node's own error text may quote a key (some providers echo the URL): scrubbed.</summary>
    private string Scrubbed(string reason, AttemptKind kind) =>
        kind == AttemptKind.Answered || _scrubber is null ? reason : _scrubber.Scrub(reason);

    /// <summary>Reason of an upstream batch the node would not take.</summary>
    public const string BatchRefused = "batch_refused";

    private static bool IsBatch(ReadOnlySpan<byte> body) => !body.IsEmpty && body[0] == (byte)'[';

    private static string Truncate(string? message) =>
        message is null ? "" : message.Length <= 120 ? message : message[..120];
}
