using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RpcShield.Telemetry;

/// <summary>
/// `server.metrics_listen`: a second Kestrel listener for Prometheus and probes. Its connections
/// are marked; a request on one reaches only `/metrics`, `/healthz` and `/readyz` (GET or HEAD),
/// without the client token; anything else there is a 404, so JSON-RPC, /status, /ui and /admin
/// never answer on it.
/// </summary>
internal sealed class MetricsListener
{
    private static readonly MetricsListener Marker = new();

    private MetricsListener()
    {
    }

    public static void Listen(KestrelServerOptions kestrel, string url)
    {
        var uri = new Uri(url);
        var address = uri.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(uri.Host.Trim('[', ']'));
        kestrel.Listen(address, uri.Port, o =>
        {
            o.Protocols = HttpProtocols.Http1;
            o.Use(next => connection =>
            {
                connection.Features.Set(Marker);
                return next(connection);
            });
        });
    }

    /// <summary>True for a request that arrived on the metrics listener (it may then skip the client token).</summary>
    public static bool Serves(HttpContext context) => context.Features.Get<MetricsListener>() is not null;

    /// <summary>First middleware when the listener is configured: 404 for everything but the three paths on it.</summary>
    public static RequestDelegate Gate(RequestDelegate next) => context =>
    {
        if (!Serves(context))
        {
            return next(context);
        }

        var path = context.Request.Path;
        var allowed = (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            && (path.Equals("/metrics", StringComparison.Ordinal) || path.Equals("/healthz", StringComparison.Ordinal) || path.Equals("/readyz", StringComparison.Ordinal));
        if (allowed)
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    };
}
