using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;
using RpcShield.Hosting.Admin;
using RpcShield.Chaos;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.Features.Fanout;
using RpcShield.JsonRpc;
using RpcShield.Hosting.Passthrough;
using RpcShield.Features.Outcomes;
using RpcShield.Upstreams.Resilience;
using RpcShield.Routing;
using RpcShield.Hosting.Security;
using RpcShield.Hosting.Status;
using RpcShield.Features.Subscriptions;
using RpcShield.Telemetry;
using RpcShield.Hosting.Ui;

namespace RpcShield;

/// <summary>Composes the RpcShield web host from a validated configuration. Only composition lives here.</summary>
public static class RpcShieldHost
{
    public static WebApplication Build(ProxyOptions options, string? configPath, HostSettings? settings = null)
    {
        settings ??= new HostSettings();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "RpcShield", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(settings.MinimumLogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        // YARP logs every forwarded URL at information ("Proxying to http://…/KEY…?token=…"): destinations may hold keys.
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        // With this category enabled ASP.NET Core starts an Activity per request for log scopes (measured ~0.5 KB/request); it only logs request start/stop.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);

        var listen = new Uri(settings.ListenOverride ?? options.Server.Listen);
        var idle = new IdleConnectionReleaser(options.Server.MaxConnections, settings.TimeProvider);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var limits = kestrel.Limits;
            limits.MaxRequestBodySize = options.Server.MaxBodyBytes + 1;
            limits.MaxRequestHeadersTotalSize = 32 * 1024;
            limits.MaxRequestHeaderCount = 100;
            limits.MaxConcurrentConnections = options.Server.MaxConnections;
            limits.MaxConcurrentUpgradedConnections = options.Server.MaxConnections;
            limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            // A client trickling its body slower than this is cut off instead of holding a slot.
            limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(5));
            limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(10));
            var address = listen.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(listen.Host.Trim('[', ']'));
            kestrel.Listen(address, listen.Port, o =>
            {
                o.Protocols = HttpProtocols.Http1;
                o.Use(idle.Track);
            });
            if (options.Server.MetricsListen is { } metricsListen)
            {
                MetricsListener.Listen(kestrel, metricsListen);
            }
        });

        var services = builder.Services;
        // Bounds the drain of in-flight requests on SIGTERM (the default of 30 s races systemd's and compose's kill).
        services.Configure<HostOptions>(host => host.ShutdownTimeout = options.Server.ShutdownTimeout);
        services.AddSingleton(settings.TimeProvider);
        services.AddSingleton(idle);
        services.AddSingleton(sp => new ConfigStore(options, configPath, sp.GetRequiredService<ILogger<ConfigStore>>(), settings.Environment));
        services.AddSingleton(sp => new SecretScrubber(sp.GetRequiredService<ConfigStore>()));
        services.AddTelemetry();
        services.AddTracing(options);
        services.AddUpstreamRouting();
        services.AddSubscriptions();
        services.AddPassthrough();
        services.AddFailureJournal(options, listen.Port);
        services.AddResilience();
        RpcShield.Upstreams.Heads.HeadsServiceCollectionExtensions.AddHeads(services);
        RpcShield.Features.Caching.CachingServiceCollectionExtensions.AddResponseCache(services);
        services.AddFanout();
        RpcShield.Features.BundleStatus.BundleStatusServiceCollectionExtensions.AddBundleStatus(services);
        services.AddChaos();
        services.TryAddSingleton<RpcShield.Journal.IFailureJournal, RpcShield.Journal.NullFailureJournal>();
        settings.ConfigureServices?.Invoke(services);

        var app = builder.Build();
        app.Use(next => context =>
        {
            idle.Touch(context);
            return next(context);
        });
        if (options.Server.MetricsListen is not null)
        {
            app.Use(MetricsListener.Gate);
        }

        app.UseMiddleware<ClientAuthMiddleware>();
        // JSON-RPC over HTTP (POST / and POST /{a configured chain}) goes straight to its endpoint,
        // ahead of routing and authorization (measured ~0.5 KB and a few µs per request); the rest
        // is routed exactly as before (other paths, unknown chain names).
        var endpoint = app.Services.GetRequiredService<JsonRpcEndpoint>();
        app.Use(next => context => (ClientAuthMiddleware.Authenticated(context) ? endpoint.TryServe(context) : null) ?? next(context));
        app.UseMiddleware<RequestFailureMiddleware>();
        app.UseRouting();
        app.UseMiddleware<ClientAuthGate>();
        if (app.Services.GetService<Microsoft.AspNetCore.Authorization.IAuthorizationHandlerProvider>() is not null)
        {
            app.UseAuthorization();
        }

        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.MapStatusEndpoints();
        app.MapUi();
        app.MapChaosAdmin();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<CollectorRegistry>());
        app.MapOutcomeEndpoints();
        app.MapPost("/{chain}", endpoint.HandleRoutedChainAsync);
        app.MapWebSocketEndpoints();
        app.MapReverseProxy();
        settings.ConfigureApp?.Invoke(app);

        app.Lifetime.ApplicationStarted.Register(() => app.Services.GetRequiredService<ConfigStore>().StartWatching());
        return app;
    }

    /// <summary>The address Kestrel actually bound (resolves port 0).</summary>
    public static Uri BoundAddress(this WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}

/// <summary>Knobs for embedding (tests, sandbox, bench) without touching the config file.</summary>
public sealed class HostSettings
{
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Overrides `server.listen` (tests use http://127.0.0.1:0).</summary>
    public string? ListenOverride { get; init; }

    public Func<string, string?>? Environment { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>
    /// Adds endpoints (the sandbox's control API) after RpcShield's own. Middleware added here runs
    /// only for routed requests: JSON-RPC POSTs to a configured chain are served before routing.
    /// </summary>
    public Action<WebApplication>? ConfigureApp { get; init; }
}
