using Microsoft.AspNetCore.Http;
using RpcShield.JsonRpc;

namespace RpcShield.Chaos;

/// <summary>
/// Finds the client call an upstream attempt is made for, so upstream-scope injections can
/// annotate `X-RpcShield-Chaos` and health probes (made outside any client call) are never
/// touched by chaos. The client gate registers the call on the request's HttpContext.
/// </summary>
public sealed class ChaosCallContext
{
    private static readonly object Key = new();
    private readonly IHttpContextAccessor _accessor;

    public ChaosCallContext(IHttpContextAccessor accessor) => _accessor = accessor;

    /// <summary>The client call of the current async flow, or null (health probe, background work).</summary>
    public RpcCall? Current
    {
        get
        {
            if (_accessor.HttpContext is not { } context)
            {
                return null;
            }

            // Batch items and WebSocket messages run concurrently on one HttpContext: Items is not thread-safe.
            var items = context.Items;
            lock (items)
            {
                return items.TryGetValue(Key, out var call) ? call as RpcCall : null;
            }
        }
    }

    public HttpContext? HttpContext => _accessor.HttpContext;

    public void Register(RpcCall call)
    {
        if (_accessor.HttpContext is { } context)
        {
            var items = context.Items;
            lock (items)
            {
                items[Key] = call;
            }
        }
    }
}
