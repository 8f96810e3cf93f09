using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using RpcShield.Chains;
using RpcShield.Upstreams.Heads;
using RpcShield.Features.Inclusion;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// Turns the inclusion tracker's verdict on a target block into a state and a reason, from evidence:
/// `included`; `lost`/nonce_taken; a cancelled bundle stays `cancelled` (or is `included` with
/// "landed despite cancel"); otherwise `not_included` with fee_too_low (a max fee under the block's
/// base fee), late (every builder that accepted it answered after RpcShield had seen the block),
/// reverted (simulated on the parent state), not_selected (valid and received), or unknown (no
/// simulation possible). Runs in the background, one task per verdict, never on a request. Also
/// sends bundles whose inclusion block was reorged out back to `pending` and to the tracker.
/// </summary>
internal sealed partial class BundleJudge : IHostedService, IDisposable
{
    private readonly BundleStatusBook _book;
    private readonly BundleSimulator _simulator;
    private readonly InclusionTracker _tracker;
    private readonly HeadEvents? _heads;
    private readonly ILogger<BundleJudge> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public BundleJudge(BundleStatusBook book, BundleSimulator simulator, InclusionTracker tracker, ILogger<BundleJudge> logger, HeadEvents? heads = null)
    {
        _book = book;
        _simulator = simulator;
        _tracker = tracker;
        _heads = heads;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _tracker.Judged += OnJudged;
        if (_heads is not null)
        {
            _heads.Reorged += OnReorged;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _tracker.Judged -= OnJudged;
        if (_heads is not null)
        {
            _heads.Reorged -= OnReorged;
        }

        Stop();
        return Task.CompletedTask;
    }

    /// <summary>Stops judgements still running; idempotent, also after <see cref="Dispose"/> (hosts may stop a disposed service).</summary>
    private void Stop()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                _stopping.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private void OnJudged(ChainRuntime chain, TrackedBundle bundle, BlockView block, InclusionDecision decision) =>
        _ = JudgeSafelyAsync(chain, bundle, block, decision);

    private void OnReorged(ReorgEvent reorg)
    {
        foreach (var bundle in _book.Reorged(reorg.Chain, reorg.FirstAffectedBlock))
        {
            LogBackToPending(reorg.Chain, bundle.BundleHash, reorg.FirstAffectedBlock);
            _tracker.Track(bundle);
        }
    }

    private async Task JudgeSafelyAsync(ChainRuntime chain, TrackedBundle bundle, BlockView block, InclusionDecision decision)
    {
        try
        {
            await Task.Yield();
            var verdict = await JudgeAsync(chain, bundle, block, decision, _stopping.Token).ConfigureAwait(false);
            var includedIn = verdict.State == BundleReasons.Included ? new IncludedIn(block.Number, decision.BlockBuilder) : null;
            _book.Decide(chain.Name, bundle.BundleHash, bundle.TargetBlock, verdict, decision.BlockBuilder, includedIn, decision.CompetitorTx);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogJudgeFailed(ex, bundle.BundleHash);
            _book.Decide(chain.Name, bundle.BundleHash, bundle.TargetBlock, new BundleVerdict(decision.Outcome == InclusionDecision.Lost ? BundleReasons.Lost : BundleReasons.NotIncluded,
                decision.Outcome == InclusionDecision.Lost ? BundleReasons.NonceTaken : BundleReasons.Unknown, "judging failed: " + ex.GetType().Name), decision.BlockBuilder);
        }
    }

    internal async Task<BundleVerdict> JudgeAsync(ChainRuntime chain, TrackedBundle bundle, BlockView block, InclusionDecision decision, CancellationToken cancellationToken)
    {
        var input = _book.ForJudging(chain.Name, bundle.BundleHash, bundle.TargetBlock);
        switch (decision.Outcome)
        {
            case InclusionDecision.Included:
                return new BundleVerdict(BundleReasons.Included, null, input is { CancelRequested: true } ? "landed despite cancel" : null);
            case InclusionDecision.Lost:
                return new BundleVerdict(BundleReasons.Lost, BundleReasons.NonceTaken, decision.CompetitorTx is { } competitor
                    ? $"transaction {competitor} with the same sender and nonce landed first, in block {block.Number}"
                    : $"the sender's nonce was already used by another transaction before block {block.Number}");
        }

        if (input is { CancelRequested: true })
        {
            return new BundleVerdict(BundleReasons.Cancelled, BundleReasons.Cancelled, input.Detail ?? "cancelled by the bot before its target block");
        }

        if (input is null || input.RawTransactions.Count == 0)
        {
            return new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.Unknown, "the bundle's transactions are not known to this run (sent before a restart?)");
        }

        return await ExplainMissAsync(chain, input, block, decision, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BundleVerdict> ExplainMissAsync(ChainRuntime chain, JudgeInput input, BlockView block, InclusionDecision decision, CancellationToken cancellationToken)
    {
        var txs = input.RawTransactions.Select(BundleTransaction.TryDecode).OfType<BundleTransaction>().ToList();
        if (block.BaseFeePerGas >= 0 && txs.Find(t => t.MaxFeePerGas < block.BaseFeePerGas) is { } cheap)
        {
            return new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.FeeTooLow, string.Create(CultureInfo.InvariantCulture,
                $"transaction {cheap.Hash} pays at most {Gwei(cheap.MaxFeePerGas)} gwei per gas, under block {block.Number}'s base fee of {Gwei(block.BaseFeePerGas)} gwei"));
        }

        var accepted = input.Builders.Where(b => b.IsOk).ToList();
        if (accepted.Count > 0 && accepted.TrueForAll(b => b.AfterTarget))
        {
            return new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.Late,
                $"every builder that accepted it ({string.Join(", ", accepted.Select(b => b.Builder))}) answered after block {block.Number} was already seen");
        }

        // Transactions the bot allowed to revert (`revertingTxHashes`) are passed over: the first other revert counts.
        var simulation = await _simulator.SimulateAsync(chain, input.RawTransactions, txs, block.Number, RevertingAllowed(input.Request), cancellationToken).ConfigureAwait(false);
        if (simulation.Reverted)
        {
            var hash = simulation.RevertedTx ?? (simulation.RevertedIndex < txs.Count ? txs[simulation.RevertedIndex].Hash : null);
            return new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.Reverted,
                $"transaction {hash ?? $"#{simulation.RevertedIndex}"} reverts on block {block.Number - 1}'s state ({simulation.RevertData}); simulated with {simulation.Detail}");
        }

        if (!simulation.Ran)
        {
            return new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.Unknown, simulation.Detail);
        }

        var receivedBy = string.Join(", ", accepted.Select(b => b.Builder));
        return new BundleVerdict(BundleReasons.NotIncluded, BundleReasons.NotSelected,
            $"valid on block {block.Number - 1}'s state (simulated with {simulation.Detail}) and accepted by {(receivedBy.Length > 0 ? receivedBy : "a builder")}; block {block.Number} was built by {decision.BlockBuilder} without it");
    }

    /// <summary>The bundle's `revertingTxHashes` (lower case), read from the bot's request.</summary>
    internal static HashSet<string> RevertingAllowed(byte[] request)
    {
        var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (request.Length == 0)
        {
            return allowed;
        }

        try
        {
            using var document = JsonDocument.Parse(request);
            if (document.RootElement.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0
                && p[0].ValueKind == JsonValueKind.Object && p[0].TryGetProperty("revertingTxHashes", out var hashes) && hashes.ValueKind == JsonValueKind.Array)
            {
                foreach (var hash in hashes.EnumerateArray())
                {
                    if (hash.ValueKind == JsonValueKind.String)
                    {
                        allowed.Add(hash.GetString()!);
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        return allowed;
    }

    private static string Gwei(BigInteger wei) => wei <= (BigInteger)decimal.MaxValue
        ? ((decimal)wei / 1_000_000_000m).ToString("0.#########", CultureInfo.InvariantCulture)
        : (wei / 1_000_000_000).ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: bundle {BundleHash} is pending again (blocks from {Block} were reorged)")]
    private partial void LogBackToPending(string chain, string bundleHash, long block);

    [LoggerMessage(Level = LogLevel.Error, Message = "Judging bundle {BundleHash} failed")]
    private partial void LogJudgeFailed(Exception exception, string bundleHash);
}
