using System.Globalization;
using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Features.Signing;

namespace RpcShield.Features.Fanout;

/// <summary>
/// Relay reads (`eth_callBundle`, `mev_simBundle`, `flashbots_getBundleStatsV2`,
/// `flashbots_getUserStatsV2`, `titan_getBundleStats` … whatever a builder's profile or `reads`
/// lists) go to one builder that serves them, never to the nodes and never fanned out: the first
/// such builder in config order answers; the next is tried only when one gave no JSON-RPC answer
/// (down, timed out, throttled, HTTP error). The builder's JSON-RPC answer, error included, is the
/// bot's answer. Signed like a fan-out (`sign` → RpcShield's key, else the bot's own header), so
/// bundle stats are asked with the key that sent the bundle.
/// </summary>
internal sealed partial class RelayReadHandler(BuilderRegistry builders, BuilderSender sender, SigningKeySource signing, ILogger<RelayReadHandler> logger) : IRpcHandler
{
    public bool Handles(ChainRuntime chain, string method)
    {
        foreach (var builder in builders.For(chain.Name))
        {
            if (builder.Settings.ServesRead(method))
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var candidates = Array.FindAll(builders.For(call.Chain.Name), b => b.Settings.ServesRead(item.Method));
        var body = item.Raw.ToArray();
        var signatures = new SignatureCache(signing.Current, call.RequestHeaders.TryGetValue(FlashbotsSigner.HeaderName, out var clientSignature) ? clientSignature.ToString() : null, body);
        var outcomes = new List<BuilderOutcome?>(candidates.Length);
        foreach (var builder in candidates)
        {
            var outcome = await sender.SendAsync(builder, body, item.Method, signatures.For(builder.Settings.Sign, body), call, cancellationToken).ConfigureAwait(false);
            builder.RecordSubmission(item.Method, outcome);
            call.Annotate(FanoutHandler.BuildersHeader, $"{outcome.Builder}={outcome.Label}");
            if (IsJsonRpcAnswer(outcome))
            {
                var buffer = new PooledBuffer(outcome.Body!.Length);
                buffer.Write(outcome.Body);
                return ForwardResult.Local(buffer, outcome.IsOk ? "ok" : "error");
            }

            outcomes.Add(outcome);
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        LogReadFailed(call.Chain.Name, item.Method, outcomes.Count);
        return ForwardResult.Error(RpcErrorCodes.AllBuildersFailed, FanoutHandler.AllFailedMessage(outcomes), data: writer => FanoutHandler.WriteBuilders(writer, outcomes));
    }

    /// <summary>A result, or a JSON-RPC error object with a code in a 2xx answer (a simulation that reverts is an answer, not a failure).</summary>
    private static bool IsJsonRpcAnswer(BuilderOutcome outcome)
    {
        if (outcome.Body is not { Length: > 0 } || outcome.StatusCode is < 200 or >= 300)
        {
            return false;
        }

        if (outcome.IsOk)
        {
            return true;
        }

        var space = outcome.Reason.IndexOf(' ', StringComparison.Ordinal);
        return outcome.Kind == BuilderOutcomeKind.Error
            && int.TryParse(space < 0 ? outcome.Reason : outcome.Reason[..space], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: no builder ({Count} tried) answered the relay read {Method}")]
    private partial void LogReadFailed(string chain, string method, int count);
}
