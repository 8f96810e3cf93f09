using RpcShield.JsonRpc;

namespace RpcShield.Upstreams;

internal enum AttemptKind
{
    /// <summary>A JSON-RPC answer to return: a result, or a deterministic error (revert, invalid params).</summary>
    Answered,
    /// <summary>A JSON-RPC error that is the node's fault (rate limit, missing state, internal): try elsewhere.</summary>
    NodeError,
    /// <summary>The method is not served by this node (-32601): try elsewhere, health unaffected.</summary>
    Unsupported,
    /// <summary>HTTP 429 or -32005: throttled, try elsewhere.</summary>
    Throttled,
    /// <summary>HTTP 5xx/4xx or a body that is not JSON-RPC.</summary>
    HttpError,
    /// <summary>Connection refused/reset, DNS, TLS.</summary>
    Transport,
    /// <summary>Per-attempt deadline passed.</summary>
    Timeout,
    /// <summary>Cancelled because another attempt won or the client left.</summary>
    Cancelled,
    /// <summary>Refused locally without sending (open circuit, exhausted rate budget, throttle backoff): try elsewhere, health unaffected.</summary>
    Rejected,
}

/// <summary>Result of one attempt against one upstream. Owns <see cref="Body"/> until taken.</summary>
internal sealed class AttemptOutcome : IDisposable
{
    public required Upstream Upstream { get; init; }

    public required AttemptKind Kind { get; init; }

    /// <summary>Short, secret-free reason (`http_503`, `timeout`, `connection_refused`, `-32005 rate limited`).</summary>
    public required string Reason { get; init; }

    public PooledBuffer? Body { get; set; }

    /// <summary>For an upstream batch answered with an array: its items, read once (ranges into <see cref="Body"/>).</summary>
    public IReadOnlyList<JsonRpc.BatchItem>? BatchItems { get; set; }

    public UpstreamReply Reply { get; init; }

    public TimeSpan Latency { get; init; }

    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// Made by chaos, not by the upstream. Never recorded into the upstream's latency, error window
    /// or health (ranking learns from organic traffic only); breakers and failover still react to it.
    /// </summary>
    public bool Injected { get; init; }

    /// <summary>Answered as one item of an upstream batch: <see cref="Latency"/> is the whole batch's.</summary>
    public bool Batched { get; init; }

    /// <summary>True when another upstream should be tried.</summary>
    public bool ShouldTryNext => Kind is not AttemptKind.Answered and not AttemptKind.Cancelled;

    /// <summary>True when the failure is the upstream's fault (counts against health and breakers).</summary>
    public bool IsUpstreamFault => Kind is AttemptKind.NodeError or AttemptKind.HttpError or AttemptKind.Transport or AttemptKind.Timeout;

    /// <summary>Takes ownership of the body (the caller disposes it).</summary>
    public PooledBuffer? TakeBody()
    {
        var body = Body;
        Body = null;
        return body;
    }

    public void Dispose() => TakeBody()?.Dispose();

    /// <summary>An attempt refused locally, never sent (circuit open, over budget): health-neutral, failover moves on.</summary>
    public static AttemptOutcome Refused(Upstream upstream, string reason) =>
        new() { Upstream = upstream, Kind = AttemptKind.Rejected, Reason = reason };
}
