using System.Text.Json;
using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// Serves `eth_subscribe` / `eth_unsubscribe`: over WebSocket with RpcShield-owned ids (see
/// <see cref="SubscriptionHub"/>); over HTTP with a clear error, since notifications need a socket.
/// </summary>
internal sealed class SubscriptionRpcHandler : IRpcHandler
{
    /// <summary>EIP-1474 "limit exceeded".</summary>
    public const int LimitExceeded = -32005;

    private readonly SubscriptionHub _hub;

    public SubscriptionRpcHandler(SubscriptionHub hub) => _hub = hub;

    public bool Handles(ChainRuntime chain, string method) => method is "eth_subscribe" or "eth_unsubscribe";

    public ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        if (call.Transport != RpcTransport.WebSocket || _hub.CurrentScope is not { } scope)
        {
            return ValueTask.FromResult(ForwardResult.Error(RpcErrorCodes.MethodNotFound, $"{item.Method} is only available over WebSocket (GET with an upgrade on the same path)"));
        }

        return ValueTask.FromResult(item.Method == "eth_subscribe" ? Subscribe(call.Chain, scope, item) : Unsubscribe(scope, item));
    }

    private static ForwardResult Subscribe(ChainRuntime chain, SubscribeScope scope, RpcRequestItem item)
    {
        if (!TryReadParams(item, out var kindName, out var filter, out var problem))
        {
            return ForwardResult.Error(RpcErrorCodes.InvalidParams, problem!);
        }

        if (!SubscriptionKinds.TryParse(kindName, out var kind))
        {
            return ForwardResult.Error(RpcErrorCodes.InvalidParams, "unsupported subscription kind: use newHeads, logs or newPendingTransactions");
        }

        if (Unfeedable(chain, kind) is { } unfeedable)
        {
            return ForwardResult.Error(RpcErrorCodes.NoUpstream, unfeedable, [new AttemptRecord("*", "no_ws_url")]);
        }

        var subscription = scope.Connection.Subscribe(kind, filter, out var error);
        if (subscription is null)
        {
            return ForwardResult.Error(LimitExceeded, error!);
        }

        scope.Created(subscription);
        return Result(item, w => w.WriteStringValue(subscription.Id));
    }

    /// <summary>
    /// Why no upstream of the chain can ever feed this kind (null when one can): a WebSocket upstream
    /// feeds every kind; without one, `newHeads` and `logs` are polled over HTTP, pending
    /// transactions cannot be.
    /// </summary>
    private static string? Unfeedable(ChainRuntime chain, SubscriptionKind kind)
    {
        var eligible = chain.Methods["eth_subscribe"].Eligible;
        if (chain.Upstreams.Any(u => !string.IsNullOrEmpty(u.Options.WsUrl) && eligible[chain.IndexOf[u]]))
        {
            return null;
        }

        if (kind == SubscriptionKind.NewPendingTransactions)
        {
            return $"newPendingTransactions needs an upstream with a ws_url (pending transactions cannot be followed over HTTP); no upstream of chain {chain.Name} has one";
        }

        string[] needed = kind == SubscriptionKind.Logs ? ["eth_getBlockByNumber", "eth_getBlockByHash", "eth_getLogs"] : ["eth_getBlockByNumber", "eth_getBlockByHash"];
        var missing = needed.FirstOrDefault(m => !chain.Methods[m].Eligible.Any);
        return missing is null
            ? null
            : $"{SubscriptionKinds.Wire(kind)} needs an upstream with a ws_url, or one serving {missing} to poll over HTTP; chain {chain.Name} has neither";
    }

    private static ForwardResult Unsubscribe(SubscribeScope scope, RpcRequestItem item)
    {
        string? id = null;
        try
        {
            using var document = JsonDocument.Parse(item.Params);
            if (document.RootElement is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() == 1 && array[0].ValueKind == JsonValueKind.String)
            {
                id = array[0].GetString();
            }
        }
        catch (JsonException)
        {
        }

        if (id is null)
        {
            return ForwardResult.Error(RpcErrorCodes.InvalidParams, "expected params: [subscriptionId]");
        }

        var removed = scope.Connection.Unsubscribe(id);
        return Result(item, w => w.WriteBooleanValue(removed));
    }

    private static bool TryReadParams(RpcRequestItem item, out string? kind, out string? filter, out string? problem)
    {
        kind = null;
        filter = null;
        problem = null;
        try
        {
            if (item.Params.IsEmpty)
            {
                problem = "expected params: [kind] or [\"logs\", filter]";
                return false;
            }

            using var document = JsonDocument.Parse(item.Params);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() is < 1 or > 2 || root[0].ValueKind != JsonValueKind.String)
            {
                problem = "expected params: [kind] or [\"logs\", filter]";
                return false;
            }

            kind = root[0].GetString();
            if (root.GetArrayLength() == 2)
            {
                var second = root[1];
                if (kind == "logs" && second.ValueKind != JsonValueKind.Object)
                {
                    problem = "logs filter must be an object ({address, topics})";
                    return false;
                }

                // Checked before anything is subscribed: the node would refuse it and the subscription would never deliver.
                if (kind == "logs" && LogFilterValidator.Problem(second) is { } invalid)
                {
                    problem = invalid;
                    return false;
                }

                // Compact, canonical text: identical filters share one upstream subscription.
                filter = second.ValueKind == JsonValueKind.Null ? null : JsonSerializer.Serialize(second);
            }

            return true;
        }
        catch (JsonException)
        {
            problem = "params are not valid JSON";
            return false;
        }
    }

    private static ForwardResult Result(RpcRequestItem item, Action<Utf8JsonWriter> write)
    {
        var body = new PooledBuffer(128);
        RpcResponseWriter.WriteResult(body, item.Id.Span, write);
        return ForwardResult.Local(body);
    }
}
