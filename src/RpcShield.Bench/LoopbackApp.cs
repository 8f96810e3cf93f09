using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace RpcShield.Bench;

/// <summary>The bench's own small servers (upstream, floor proxy, builders): Kestrel on 127.0.0.1:0, HTTP/1.1, no logging.</summary>
internal static class LoopbackApp
{
    /// <summary>Starts <paramref name="handler"/> for every request; returns the app and its base URL (`http://127.0.0.1:port`).</summary>
    public static async Task<(WebApplication App, string Url)> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync().ConfigureAwait(false);
        return (app, app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
    }
}
