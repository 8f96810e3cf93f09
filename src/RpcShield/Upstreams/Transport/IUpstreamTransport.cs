using RpcShield.JsonRpc;

namespace RpcShield.Upstreams.Transport;

/// <summary>
/// Posts one JSON-RPC body to one upstream URL and reads the answer into a pooled buffer. Transport
/// failures surface as <see cref="HttpRequestException"/> or <see cref="IOException"/> (with the
/// socket error inside), so <see cref="FailureClassifier.Describe"/> names them the same way for
/// every transport; cancellation surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
public interface IUpstreamTransport : IDisposable
{
    ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> body, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken);
}

/// <summary>Status line facts of an upstream answer; the body is in the caller's buffer.</summary>
/// <param name="TooLarge">The body passed the size limit: the buffer holds only its beginning.</param>
/// <param name="Framed">The body's end was declared (Content-Length or chunked) and it arrived whole.</param>
public readonly record struct UpstreamResponse(int StatusCode, TimeSpan? RetryAfter, bool TooLarge = false, bool Framed = false)
{
    public bool IsSuccess => StatusCode is >= 200 and < 300;
}
