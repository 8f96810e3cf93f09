using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RpcShield.Bench;

/// <summary>
/// The .NET floor: Kestrel receiving, one pooled HttpClient forwarding, the answer copied back, and
/// nothing else (no parsing, ranking, metrics). What RpcShield costs above it is RpcShield's own.
/// </summary>
internal sealed class FloorProxy : IAsyncDisposable
{
    private WebApplication? _app;
    private readonly HttpMessageInvoker _invoker;
    private readonly Uri _upstream;

    private FloorProxy(Uri upstream)
    {
        _upstream = upstream;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ActivityHeadersPropagator = null,
        });
    }

    public string Url { get; private set; } = "";

    public static async Task<FloorProxy> StartAsync(string upstreamUrl)
    {
        var floor = new FloorProxy(new Uri(upstreamUrl));
        (floor._app, var url) = await LoopbackApp.StartAsync(floor.ForwardAsync).ConfigureAwait(false);
        floor.Url = url + "/";
        return floor;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var length = (int)(context.Request.ContentLength ?? 0);
        var body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = await context.Request.Body.ReadAsync(body.AsMemory(read, length - read)).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, _upstream) { Content = new ReadOnlyMemoryContent(body.AsMemory(0, read)) };
            request.Content.Headers.ContentType = new("application/json");
            using var response = await _invoker.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = response.Content.Headers.ContentLength;
            await response.Content.CopyToAsync(context.Response.Body).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app!.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _invoker.Dispose();
    }
}
