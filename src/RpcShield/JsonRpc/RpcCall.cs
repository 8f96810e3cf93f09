using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using RpcShield.Chains;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// One client call (an HTTP request or a WebSocket message), shared by the items of a batch.
/// Capabilities add response annotations here (`X-RpcShield-*` headers) from any thread.
/// </summary>
public sealed class RpcCall
{
    private ConcurrentDictionary<string, ConcurrentQueue<string>>? _annotations;

    public RpcCall(ChainRuntime chain, IHeaderDictionary requestHeaders, RpcTransport transport)
    {
        Chain = chain;
        RequestHeaders = requestHeaders;
        Transport = transport;
    }

    public ChainRuntime Chain { get; }

    public IHeaderDictionary RequestHeaders { get; }

    public RpcTransport Transport { get; }

    /// <summary>The bot's optional `X-RpcShield-Strategy` label (journal only).</summary>
    public string? Strategy => RequestHeaders.TryGetValue("X-RpcShield-Strategy", out var value) ? value.ToString() : null;

    /// <summary>Adds a value to a response header (joined with ',' when written).</summary>
    public void Annotate(string header, string value)
    {
        var annotations = _annotations ?? Interlocked.CompareExchange(ref _annotations, new(StringComparer.OrdinalIgnoreCase), null) ?? _annotations;
        annotations.GetOrAdd(header, static _ => new ConcurrentQueue<string>()).Enqueue(value);
    }

    public IEnumerable<KeyValuePair<string, string>> Annotations()
    {
        if (_annotations is null)
        {
            yield break;
        }

        foreach (var (header, values) in _annotations)
        {
            yield return new(header, string.Join(',', values.Distinct()));
        }
    }
}

public enum RpcTransport
{
    Http,
    WebSocket,
}

/// <summary>
/// Serves a class of methods instead of the default read forwarder (broadcast, builder fan-out,
/// RpcShield's own `rpcshield_*` methods). The first handler that claims a method wins.
/// </summary>
public interface IRpcHandler
{
    bool Handles(ChainRuntime chain, string method);

    ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken);
}

/// <summary>
/// Checked before any handler: may answer the item itself (shed in degraded mode, reject sends in
/// minimal mode, a client-scope chaos fault). Returns null to let the item through.
/// </summary>
public interface IRpcGate
{
    ValueTask<ForwardResult?> AdmitAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken);
}
