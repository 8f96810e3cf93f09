using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>What <see cref="FaultProxy"/> does to each request.</summary>
internal enum FaultMode
{
    /// <summary>Forward unchanged (after <see cref="FaultProxy.Latency"/>).</summary>
    Pass,
    /// <summary>Every other client request gets HTTP 500; health probes and the rest are forwarded (a node that answers
    /// `eth_blockNumber` but fails half the real work).</summary>
    Flap,
    /// <summary>Every request gets HTTP 429 with `Retry-After: <see cref="FaultProxy.RetryAfterSeconds"/>`.</summary>
    Throttle,
}

/// <summary>
/// A tiny Kestrel reverse proxy in front of a real anvil (127.0.0.1, ephemeral port) that adds
/// latency, flaps with HTTP 500 or throttles with HTTP 429 + Retry-After, and counts what it saw.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HttpClient Forwarder = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly WebApplication _app;
    private readonly string _target;
    private int _hits;
    private int _clientHits;

    private FaultProxy(WebApplication app, string target)
    {
        _app = app;
        _target = target;
    }

    public string Url { get; private set; } = "";

    public FaultMode Mode { get; set; }

    public TimeSpan Latency { get; set; }

    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>Client requests received (health probes excluded).</summary>
    public int ClientHits => Volatile.Read(ref _clientHits);

    /// <summary>Requests received (including health probes).</summary>
    public int Hits => Volatile.Read(ref _hits);

    public static async Task<FaultProxy> StartAsync(string targetUrl, FaultMode mode = FaultMode.Pass, TimeSpan latency = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var proxy = new FaultProxy(app, targetUrl) { Mode = mode, Latency = latency };
        app.MapPost("/", proxy.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        proxy.Url = app.Urls.First();
        return proxy;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _hits);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        var probe = body.GetBuffer().AsSpan(0, (int)body.Length).IndexOf("rpcshield-probe"u8) >= 0;
        var clientHit = probe ? 0 : Interlocked.Increment(ref _clientHits);
        if (Latency > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(Latency, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        switch (Mode)
        {
            case FaultMode.Flap when clientHit % 2 == 0 && !probe:
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync("internal server error").ConfigureAwait(false);
                return;
            case FaultMode.Throttle:
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await context.Response.WriteAsync("""{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limit exceeded"}}""").ConfigureAwait(false);
                return;
        }

        using var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new("application/json");
        try
        {
            using var response = await Forwarder.PostAsync(_target, content, context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = "application/json";
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            context.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
