using System.Net;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace RpcShield.Upstreams;

/// <summary>
/// YARP's tuned <see cref="ForwarderHttpClientFactory"/> (no proxy, no redirects, no cookies, no
/// decompression, multiple HTTP/2 connections) with timeouts suited to a race: a dead node must
/// fail its connect quickly so the request moves on.
/// </summary>
internal sealed class UpstreamClientFactory : ForwarderHttpClientFactory
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(1);

    public HttpMessageInvoker Create() => CreateClient(new ForwarderHttpClientContext { NewConfig = HttpClientConfig.Empty });

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectTimeout = ConnectTimeout;
        handler.PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60);
        handler.PooledConnectionLifetime = TimeSpan.FromMinutes(5);
        handler.MaxConnectionsPerServer = 512;
        handler.AutomaticDecompression = DecompressionMethods.None;
        handler.KeepAlivePingDelay = TimeSpan.FromSeconds(15);
        handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
        handler.ActivityHeadersPropagator = null;
    }
}
