using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Journal;
using RpcShield.Routing;

namespace RpcShield.Features.Outcomes;

/// <summary>`rpcshield_reportOutcome`: answered by RpcShield itself, never forwarded upstream.</summary>
internal sealed class OutcomeRpcHandler : IRpcHandler
{
    public const string Method = "rpcshield_reportOutcome";

    private readonly IFailureJournal _journal;
    private readonly TimeProvider _time;

    public OutcomeRpcHandler(IFailureJournal journal, TimeProvider time)
    {
        _journal = journal;
        _time = time;
    }

    public bool Handles(ChainRuntime chain, string method) => string.Equals(method, Method, StringComparison.Ordinal);

    public ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        if (!OutcomeReportParser.TryParse(item.Params, call.Strategy, out var report, out var error))
        {
            return ValueTask.FromResult(ForwardResult.Error(RpcErrorCodes.InvalidParams, "Invalid params: " + error));
        }

        _journal.Record(report!.ToEntry(call.Chain.Name, _time.GetUtcNow()));
        var journaled = _journal is not NullFailureJournal;
        var body = new PooledBuffer(128);
        RpcResponseWriter.WriteResult(body, item.Id.Span, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("accepted"u8, true);
            w.WriteBoolean("journaled"u8, journaled);
            w.WriteEndObject();
        });
        return ValueTask.FromResult(ForwardResult.Local(body));
    }
}
