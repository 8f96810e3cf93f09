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
    // The one annotation nearly every call gets (X-RpcShield-Upstream) is kept without a list, and a
    // second one (X-RpcShield-Cache beside the upstream) too: as plain fields (a null header is an
    // empty slot), 16 B per call fewer than two nullable pairs.
    private string? _firstHeader;
    private string? _firstValue;
    private string? _secondHeader;
    private string? _secondValue;
    // A private lock that costs no allocation per request (a lock object would); held only for a
    // few field reads and writes. Mutable struct: never readonly, never copied.
    private SpinLock _gate = new(enableThreadOwnerTracking: false);

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
        var taken = false;
        try
        {
            _gate.Enter(ref taken);
            if (_firstHeader is null)
            {
                (_firstHeader, _firstValue) = (header, value);
                return;
            }

            if (Same(new(_firstHeader, _firstValue!), header, value) || (_secondHeader is not null && Same(new(_secondHeader, _secondValue!), header, value)))
            {
                return;
            }

            if (_secondHeader is null)
            {
                (_secondHeader, _secondValue) = (header, value);
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
        finally
        {
            if (taken)
            {
                _gate.Exit();
            }
        }

        static bool Same(KeyValuePair<string, string> annotation, string header, string value) =>
            string.Equals(annotation.Key, header, StringComparison.OrdinalIgnoreCase) && annotation.Value == value;
    }

    /// <summary>Sets each annotated header once, its distinct values joined with ','.</summary>
    public void WriteTo(IHeaderDictionary headers)
    {
        KeyValuePair<string, string> first;
        KeyValuePair<string, string> second = default;
        var taken = false;
        try
        {
            _gate.Enter(ref taken);
            if (_firstHeader is null)
            {
                return;
            }

            first = new(_firstHeader, _firstValue!);
            if (_secondHeader is not null)
            {
                second = new(_secondHeader, _secondValue!);
            }

            if (_annotations is not null || (second.Key is not null && string.Equals(second.Key, first.Key, StringComparison.OrdinalIgnoreCase)))
            {
                first = default;
            }
        }
        finally
        {
            if (taken)
            {
                _gate.Exit();
            }
        }

        if (first.Key is not null)
        {
            // One or two distinct headers: set outside the lock (the header dictionary is not ours to hold a spin lock over).
            headers[first.Key] = first.Value;
            if (second.Key is not null)
            {
                headers[second.Key] = second.Value;
            }

            return;
        }

        foreach (var (header, value) in Annotations())
        {
            headers[header] = value;
        }
    }

    /// <summary>Each annotated header once, its distinct values joined with ','.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Annotations()
    {
        KeyValuePair<string, string> first;
        KeyValuePair<string, string>[] more;
        var taken = false;
        try
        {
            // Copied under the lock, merged outside it (the lock spins: held for the copy only).
            _gate.Enter(ref taken);
            if (_firstHeader is null)
            {
                return [];
            }

            first = new(_firstHeader, _firstValue!);
            more = _secondHeader is not null ? [new(_secondHeader, _secondValue!), .. _annotations ?? []] : _annotations?.ToArray() ?? [];
        }
        finally
        {
            if (taken)
            {
                _gate.Exit();
            }
        }

        var merged = new List<KeyValuePair<string, string>>(1 + more.Length) { first };
        foreach (var (header, value) in more)
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

internal enum RpcTransport
{
    Http,
    WebSocket,
}
