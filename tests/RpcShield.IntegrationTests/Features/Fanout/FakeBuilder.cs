using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RpcShield.Features.Signing;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>How a <see cref="FakeBuilder"/> answers.</summary>
internal enum BuilderBehaviour
{
    /// <summary>`{"result":{"bundleHash":"0x&lt;its own id&gt;"}}` (a builder-specific id, like BuilderNet).</summary>
    Accept,
    /// <summary>Titan style: `{"result":200}`.</summary>
    AcceptTitanStyle,
    /// <summary>Never answers within any sane timeout.</summary>
    Hang,
    /// <summary>Flashbots relay signature failure: HTTP 403 `{"error":"error in signature check …"}`.</summary>
    Forbidden,
    /// <summary>An HTML 502 page from a simulator.</summary>
    BadGatewayHtml,
    /// <summary>HTTP 429.</summary>
    RateLimited,
}

/// <summary>
/// A builder endpoint on a real Kestrel listener (127.0.0.1, ephemeral port) speaking the builder
/// wire format: JSON-RPC over HTTP POST, optional `X-Flashbots-Signature` verification (a missing or
/// invalid signature gets the relay's HTTP 403 answer). Records every body and header it receives.
/// </summary>
internal sealed class FakeBuilder : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeBuilder(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public BuilderBehaviour Behaviour { get; set; }

    public bool RequireSignature { get; set; }

    /// <summary>Added before every answer (a far-away region).</summary>
    public TimeSpan Delay { get; set; }

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Relay reads this builder answers (method → JSON result), in the builder's own wire format; checked before <see cref="Behaviour"/>.</summary>
    public ConcurrentDictionary<string, string> ReadResults { get; } = new();

    /// <summary>
    /// One request as received; <see cref="ReceivedAt"/> is the Stopwatch timestamp once the body was
    /// read. The signature is verified on first use (keeps the builder cheap when nobody asks).
    /// </summary>
    public sealed class Received(byte[] body, string? signature, string? method, long receivedAt)
    {
        private readonly Lazy<(bool Valid, string? Signer)> _verified = new(() => (FlashbotsSigner.TryVerify(signature, body, out var signer), signer));

        public byte[] Body => body;

        public string? Signature => signature;

        public string? Method => method;

        public long ReceivedAt => receivedAt;

        public bool SignatureValid => _verified.Value.Valid;

        public string? Signer => _verified.Value.Signer;
    }

    public static async Task<FakeBuilder> StartAsync(BuilderBehaviour behaviour = BuilderBehaviour.Accept, bool requireSignature = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        FakeBuilder? self = null;
        app.MapPost("/", async context => await self!.HandleAsync(context));
        await app.StartAsync();
        var address = app.Urls.First();
        self = new FakeBuilder(app, address) { Behaviour = behaviour, RequireSignature = requireSignature };
        return self;
    }

    /// <summary>A URL on which nothing listens (a builder that is down).</summary>
    public static string DownUrl()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var memory = new MemoryStream();
        await context.Request.Body.CopyToAsync(memory);
        var body = memory.ToArray();
        var receivedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var signature = context.Request.Headers[FlashbotsSigner.HeaderName].FirstOrDefault();
        string? method = null;
        JsonElement id = default;
        try
        {
            using var document = JsonDocument.Parse(body);
            method = document.RootElement.GetProperty("method").GetString();
            id = document.RootElement.GetProperty("id").Clone();
        }
        catch (JsonException)
        {
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, context.RequestAborted);
        }

        var received = new Received(body, signature, method, receivedAt);
        Requests.Enqueue(received);
        if (RequireSignature && !received.SignatureValid)
        {
            await WriteAsync(context, 403, "application/json", "{\"error\":\"error in signature check " + (received.Signer ?? "0x") + "\"}");
            return;
        }

        var rawId = id.ValueKind == JsonValueKind.Undefined ? "null" : id.GetRawText();
        if (method is not null && ReadResults.TryGetValue(method, out var readResult))
        {
            await WriteAsync(context, 200, "application/json", $$"""{"jsonrpc":"2.0","id":{{rawId}},"result":{{readResult}}}""");
            return;
        }

        switch (Behaviour)
        {
            case BuilderBehaviour.Accept:
                var own = "0x" + Convert.ToHexStringLower(FlashbotsSigner.Keccak([.. body, .. Encoding.UTF8.GetBytes(Url)]));
                await WriteAsync(context, 200, "application/json", $$$"""{"jsonrpc":"2.0","id":{{{rawId}}},"result":{"bundleHash":"{{{own}}}"}}""");
                break;
            case BuilderBehaviour.AcceptTitanStyle:
                await WriteAsync(context, 200, "application/json", $$"""{"jsonrpc":"2.0","id":{{rawId}},"result":200}""");
                break;
            case BuilderBehaviour.Hang:
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                break;
            case BuilderBehaviour.Forbidden:
                await WriteAsync(context, 403, "application/json", "{\"error\":\"error in signature check 0x0000\"}");
                break;
            case BuilderBehaviour.BadGatewayHtml:
                await WriteAsync(context, 502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>");
                break;
            case BuilderBehaviour.RateLimited:
                await WriteAsync(context, 429, "text/plain", "Too Many Requests");
                break;
        }
    }

    private static Task WriteAsync(HttpContext context, int status, string contentType, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(text);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
