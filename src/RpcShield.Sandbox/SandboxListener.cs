using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RpcShield.Sandbox;

/// <summary>
/// One tiny Kestrel server on 127.0.0.1:port serving a single request delegate (a sandbox node or
/// builder). It can be stopped (the port refuses connections, like a dead node) and started again
/// on the same port.
/// </summary>
internal sealed class SandboxListener(int port, RequestDelegate handler) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private WebApplication? _app;

    /// <summary>The bound port (the configured one, or the ephemeral one chosen for port 0).</summary>
    public int Port { get; private set; } = port;

    public bool IsRunning => _app is not null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_app is not null)
            {
                return;
            }

            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "RpcShield.Sandbox" });
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
                kestrel.Listen(IPAddress.Loopback, Port, o => o.Protocols = HttpProtocols.Http1);
            });
            var app = builder.Build();
            app.Run(handler);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            Port = app.BoundAddress().Port;
            _app = app;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_app is { } app)
            {
                _app = null;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await app.StopAsync(timeout.Token).ConfigureAwait(false);
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
