using RpcShield.JsonRpc;

namespace RpcShield.Upstreams.Transport;

/// <summary>
/// Posts one JSON-RPC body to one upstream URL and reads the answer into a pooled buffer. Transport
/// failures surface as <see cref="HttpRequestException"/> or <see cref="IOException"/> (with the
/// socket error inside), so <see cref="FailureClassifier.Describe"/> names them the same way for
/// every transport; cancellation surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
internal interface IUpstreamTransport : IDisposable
{
    ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> body, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken);
}

/// <summary>
/// Status line facts of an upstream answer; the body is in the caller's buffer. Kept to 12 bytes
/// (Retry-After as whole milliseconds): it is copied through every state machine of an attempt.
/// </summary>
internal readonly struct UpstreamResponse
{
    private readonly int _retryAfterMs;

    /// <param name="statusCode">HTTP status.</param>
    /// <param name="retryAfter">The Retry-After hint, if any.</param>
    /// <param name="tooLarge">The body passed the size limit: the buffer holds only its beginning.</param>
    /// <param name="framed">The body's end was declared (Content-Length or chunked) and it arrived whole.</param>
    public UpstreamResponse(int statusCode, TimeSpan? retryAfter, bool tooLarge = false, bool framed = false)
    {
        StatusCode = statusCode;
        _retryAfterMs = retryAfter is { } hint ? (int)Math.Clamp(hint.TotalMilliseconds, 0, int.MaxValue) : -1;
        TooLarge = tooLarge;
        Framed = framed;
    }

    public int StatusCode { get; }

    public TimeSpan? RetryAfter => _retryAfterMs < 0 ? null : TimeSpan.FromMilliseconds(_retryAfterMs);

    public bool TooLarge { get; }

    public bool Framed { get; }

    public bool IsSuccess => StatusCode is >= 200 and < 300;
}
