using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>
/// A tiny real Kestrel server on 127.0.0.1:0 for parts that have no real implementation to run
/// (replay upstream, deliberately slow or failing nodes, a beacon-style REST backend).
/// </summary>
internal sealed class FakeServer : IAsyncDisposable
{
    private FakeServer(WebApplication app, string url)
    {
        App = app;
        Url = url;
    }

    public WebApplication App { get; }

    /// <summary>Base URL without a trailing slash (`http://127.0.0.1:port`).</summary>
    public string Url { get; }

    public static async Task<FakeServer> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        var app = builder.Build();
        map(app);
        await app.StartAsync().ConfigureAwait(false);
        return new FakeServer(app, app.BoundAddress().ToString().TrimEnd('/'));
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}
