using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Upstreams.Health;
using RpcShield.JsonRpc;
using RpcShield.Journal;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Features.Broadcast;

/// <summary>
/// `routing.broadcast` methods (default eth_sendRawTransaction): the raw transaction goes to every
/// healthy upstream in parallel. The first success is answered at once with the tx hash (keccak256
/// of the raw bytes, computed here) while the other sends complete in the background. "already
/// known" / "known transaction" / "transaction already imported" count as success, and so does
/// "nonce too low" when that node has this very hash. When every upstream rejects, the client gets
/// the most informative node error verbatim. Every per-upstream outcome is counted and journaled.
/// </summary>
internal sealed partial class BroadcastHandler : IRpcHandler
{
    private readonly UpstreamSender _sender;
    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<BroadcastHandler> _logger;

    public BroadcastHandler(UpstreamSender sender, RpcShieldMetrics metrics, IFailureJournal journal, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<BroadcastHandler> logger)
    {
        _sender = sender;
        _metrics = metrics;
        _journal = journal;
        _time = time;
        _lifetime = lifetime;
        _logger = logger;
    }

    public bool Handles(ChainRuntime chain, string method) => chain.Methods[method].Broadcast;

    public async ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        if (!RawTransaction.TryHash(item.Params.Span, out var txHash, out var problem))
        {
            return ForwardResult.Error(RpcErrorCodes.InvalidParams, $"Invalid {item.Method}: {problem}");
        }

        var traits = chain.Methods[item.Method];
        var targets = Targets(chain, traits.Eligible);
        if (targets.Length == 0)
        {
            return traits.Eligible.Any
                ? ForwardResult.Error(RpcErrorCodes.NoUpstream, "No upstream could take the transaction: none is healthy", [new AttemptRecord("*", "no_routable_upstream")])
                : ForwardResult.Error(RpcErrorCodes.MethodNotFound, $"Method {item.Method} is not served by any upstream of chain {chain.Name}");
        }

        var timeout = traits.Timeout ?? chain.Options.Routing.Timeouts.PerAttempt;
        // The client's buffers are recycled once it is answered: the background sends keep their own copy.
        var run = new Run(this, call, chain, item.Method, item.Raw.ToArray(), item.Id.ToArray(), txHash, call.Strategy, targets.Length);
        foreach (var upstream in targets)
        {
            _ = run.SendAsync(upstream, timeout, _lifetime.ApplicationStopping);
        }

        return await run.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Healthy, eligible upstreams (open circuits excluded); when none is healthy, whatever is routable.</summary>
    private static Upstream[] Targets(ChainRuntime chain, EligibleUpstreams eligible)
    {
        var healthy = chain.Ranking.Where(u => eligible[chain.IndexOf[u]] && u.Health.Status == HealthStatus.Healthy && u.CircuitState == Upstreams.Breakers.BreakerState.Closed).ToArray();
        return healthy.Length > 0 ? healthy : chain.Candidates(eligible, int.MaxValue);
    }

    private static byte[] TransactionByHashRequest(string txHash) =>
        Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":"rpcshield-broadcast","method":"eth_getTransactionByHash","params":["{{txHash}}"]}""");

    /// <summary>True when the upstream has the transaction (nonce too low because this very tx is already in).</summary>
    private async Task<bool> HasTransactionAsync(Upstream upstream, string txHash, TimeSpan timeout, RpcCall call, CancellationToken cancellationToken)
    {
        using var outcome = await _sender.SendAsync(upstream, TransactionByHashRequest(txHash), "eth_getTransactionByHash", timeout, call, cancellationToken).ConfigureAwait(false);
        if (outcome is not { Kind: AttemptKind.Answered, Body: { } body } || outcome.Reply.HasError)
        {
            return false;
        }

        using var document = System.Text.Json.JsonDocument.Parse(body.Memory);
        return document.RootElement.TryGetProperty("result", out var result) && result.ValueKind == System.Text.Json.JsonValueKind.Object;
    }

    /// <summary>
    /// One broadcast: completes with the first success, or with the best failure once every send is done.
    /// Every send (and its nonce check) is made for <paramref name="call"/>, also those still out once it is answered.
    /// </summary>
    private sealed class Run(BroadcastHandler owner, RpcCall call, ChainRuntime chain, string method, byte[] raw, byte[] id, string txHash, string? strategy, int count)
    {
        private readonly TaskCompletionSource<ForwardResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();
        private readonly List<AttemptRecord> _attempts = [];
        private AttemptOutcome? _best;
        private int _bestScore = -1;
        private int _remaining = count;

        public Task<ForwardResult> Completion => _completion.Task;

        public async Task SendAsync(Upstream upstream, TimeSpan timeout, CancellationToken stopping)
        {
            var start = owner._time.GetTimestamp();
            string label;
            AttemptOutcome? attempt = null;
            try
            {
                attempt = await owner._sender.SendAsync(upstream, raw, method, timeout, call, stopping).ConfigureAwait(false);
                label = await ClassifyAsync(upstream, attempt, timeout, stopping).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                owner.LogSendCrashed(ex, chain.Name, upstream.Name);
                label = BroadcastOutcome.Error;
            }

            var latency = owner._time.GetElapsedTime(start);
            owner._metrics.Broadcasts.WithLabels(chain.Name, upstream.Name, label).Inc();
            owner._journal.Record(new JournalEntry
            {
                Kind = "broadcast",
                Timestamp = owner._time.GetUtcNow(),
                Chain = chain.Name,
                Strategy = strategy,
                HeadBlock = chain.BestHead >= 0 ? chain.BestHead : null,
                Method = method,
                Upstream = upstream.Name,
                TxHash = txHash,
                Reason = attempt is null || attempt.Reason == "ok" ? label : $"{label}: {attempt.Reason}",
                LatencyMs = latency.TotalMilliseconds,
            });
            Complete(upstream, label, attempt);
        }

        private async Task<string> ClassifyAsync(Upstream upstream, AttemptOutcome attempt, TimeSpan timeout, CancellationToken stopping)
        {
            if (attempt is { Kind: AttemptKind.Answered, Reply.HasError: false })
            {
                return BroadcastOutcome.Accepted;
            }

            var message = attempt.Reply.ErrorMessage;
            if (attempt.Reply.HasError && BroadcastOutcome.IsKnownMessage(message))
            {
                return BroadcastOutcome.Known;
            }

            if (attempt.Reply.HasError && BroadcastOutcome.IsNonceTooLow(message)
                && await owner.HasTransactionAsync(upstream, txHash, timeout, call, stopping).ConfigureAwait(false))
            {
                return BroadcastOutcome.Known;
            }

            return BroadcastOutcome.Failure(attempt);
        }

        private void Complete(Upstream upstream, string label, AttemptOutcome? attempt)
        {
            var success = label is BroadcastOutcome.Accepted or BroadcastOutcome.Known;
            ForwardResult? result = null;
            lock (_lock)
            {
                if (!success)
                {
                    _attempts.Add(new AttemptRecord(upstream.Name, attempt?.Reason ?? label));
                    var score = attempt is null ? -1 : BroadcastOutcome.Informativeness(attempt);
                    if (attempt is not null && score > _bestScore)
                    {
                        _best?.Dispose();
                        _best = new AttemptOutcome { Upstream = upstream, Kind = attempt.Kind, Reason = attempt.Reason, Reply = attempt.Reply, Body = attempt.TakeBody() };
                        _bestScore = score;
                    }
                }

                _remaining--;
                if (success && !_completion.Task.IsCompleted)
                {
                    result = ForwardResult.Served(LocalResult.StringResult(id, txHash), upstream, nodeError: false, _attempts.ToArray());
                }
                else if (_remaining == 0 && !_completion.Task.IsCompleted)
                {
                    result = _best is { Body: not null, Reply.HasError: true }
                        ? ForwardResult.Served(_best.TakeBody()!, _best.Upstream, nodeError: true, _attempts.ToArray())
                        : ForwardResult.Error(RpcErrorCodes.NoUpstream, "No upstream accepted the transaction", _attempts.ToArray());
                }

                if (_remaining == 0)
                {
                    _best?.Dispose();
                }
            }

            attempt?.Dispose();
            if (result is not null && !_completion.TrySetResult(result))
            {
                result.Dispose();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Chain {Chain}: broadcast to {Upstream} failed unexpectedly")]
    private partial void LogSendCrashed(Exception ex, string chain, string upstream);
}
