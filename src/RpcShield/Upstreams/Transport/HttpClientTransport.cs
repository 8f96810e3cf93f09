using System.Net.Http.Headers;
using RpcShield.JsonRpc;

namespace RpcShield.Upstreams.Transport;

/// <summary>
/// .NET's HttpClient stack (YARP's tuned handler): TLS, HTTP/2, proxies-off. Used for https://
/// upstreams and wherever `transport: httpclient` asks for it.
/// </summary>
internal sealed class HttpClientTransport : IUpstreamTransport
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpMessageInvoker _invoker;
    private readonly Uri _url;

    public HttpClientTransport(HttpMessageInvoker invoker, Uri url)
    {
        _invoker = invoker;
        _url = url;
    }

    public async ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> body, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url)
        {
            Content = new ReadOnlyMemoryContent(body),
            Version = System.Net.HttpVersion.Version11,
        };
        request.Content.Headers.ContentType = Json;
        using var response = await _invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var complete = await into.ReadFromAsync(stream, maxResponseBytes, cancellationToken).ConfigureAwait(false);
        // HttpClient fails a body shorter than its Content-Length or without its final chunk.
        var framed = response.Content.Headers.ContentLength is not null || response.Headers.TransferEncodingChunked == true;
        return new UpstreamResponse((int)response.StatusCode, RetryAfter(response.Headers.RetryAfter), tooLarge: !complete, framed: framed && complete);
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) =>
        header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);

    public void Dispose() => _invoker.Dispose();
}
