using Microsoft.AspNetCore.Http;
using RpcShield.Chains;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// One client call (an HTTP request or a WebSocket message), shared by the items of a batch.
/// Capabilities add response annotations here (`X-RpcShield-*` headers) from any thread.
/// </summary>
internal sealed class RpcCall
{
    private List<KeyValuePair<string, string>>? _annotations;
    // The one annotation nearly every call gets (X-RpcShield-Upstream) is kept without a list.
    // Annotations lock the call itself: it never leaves the request path, and a lock object would
    // be one more allocation per request.
    private KeyValuePair<string, string>? _first;
    // A second one (X-RpcShield-Cache beside the upstream) is kept without a list too.
    private KeyValuePair<string, string>? _second;

    public RpcCall(ChainRuntime chain, IHeaderDictionary requestHeaders, RpcTransport transport)
    {
        Chain = chain;
        RequestHeaders = requestHeaders;
        Transport = transport;
    }

    public ChainRuntime Chain { get; }

    public IHeaderDictionary RequestHeaders { get; }

    public RpcTransport Transport { get; }

    /// <summary>The HTTP request (or the WebSocket's upgrade request) this call came in on.</summary>
    public HttpContext? HttpContext { get; init; }

    /// <summary>Set while a batch's items are dispatched: reads ranking the same upstream first go to it as one upstream batch.</summary>
    public BatchCoalescer? Batch { get; set; }

    /// <summary>The bot's optional `X-RpcShield-Strategy` label (journal only).</summary>
    public string? Strategy => RequestHeaders.TryGetValue("X-RpcShield-Strategy", out var value) ? value.ToString() : null;

    /// <summary>Adds a value to a response header (distinct values joined with ',' when written).</summary>
    public void Annotate(string header, string value)
    {
        lock (this)
        {
            if (_first is null)
            {
                _first = new(header, value);
                return;
            }

            if (Same(_first.Value, header, value) || (_second is { } second && Same(second, header, value)))
            {
                return;
            }

            if (_second is null)
            {
                _second = new(header, value);
                return;
            }

            _annotations ??= new List<KeyValuePair<string, string>>(2);
            foreach (var annotation in _annotations)
            {
                if (Same(annotation, header, value))
                {
                    return;
                }
            }

            _annotations.Add(new(header, value));
        }

        static bool Same(KeyValuePair<string, string> annotation, string header, string value) =>
            string.Equals(annotation.Key, header, StringComparison.OrdinalIgnoreCase) && annotation.Value == value;
    }

    /// <summary>Sets each annotated header once, its distinct values joined with ','.</summary>
    public void WriteTo(IHeaderDictionary headers)
    {
        lock (this)
        {
            if (_first is not { } first)
            {
                return;
            }

            if (_annotations is null && (_second is not { } second || !string.Equals(second.Key, first.Key, StringComparison.OrdinalIgnoreCase)))
            {
                headers[first.Key] = first.Value;
                if (_second is { } other)
                {
                    headers[other.Key] = other.Value;
                }

                return;
            }
        }

        foreach (var (header, value) in Annotations())
        {
            headers[header] = value;
        }
    }

    /// <summary>Each annotated header once, its distinct values joined with ','.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Annotations()
    {
        lock (this)
        {
            if (_first is not { } first)
            {
                return [];
            }

            var merged = new List<KeyValuePair<string, string>>(2 + (_annotations?.Count ?? 0)) { first };
            IEnumerable<KeyValuePair<string, string>> rest = _second is { } second ? [second, .. _annotations ?? []] : _annotations ?? [];
            foreach (var (header, value) in rest)
            {
                var index = merged.FindIndex(m => string.Equals(m.Key, header, StringComparison.OrdinalIgnoreCase));
                if (index < 0)
                {
                    merged.Add(new(header, value));
                }
                else
                {
                    merged[index] = new(header, merged[index].Value + "," + value);
                }
            }

            return merged;
        }
    }
}

internal enum RpcTransport
{
    Http,
    WebSocket,
}
