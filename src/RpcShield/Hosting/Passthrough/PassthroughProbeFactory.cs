using System.Net;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace RpcShield.Hosting.Passthrough;

/// <summary>
/// Active health probes built like forwarded requests: the health path goes after the
/// destination's own path and before its query (a destination `http://h/v2?apikey=K` is probed
/// at `http://h/v2/eth/v1/node/health?apikey=K`), with the route's configured headers.
/// </summary>
internal sealed class PassthroughProbeFactory : IProbingRequestFactory
{
    private readonly PassthroughConfigProvider _routes;

    public PassthroughProbeFactory(PassthroughConfigProvider routes) => _routes = routes;

    public HttpRequestMessage CreateRequest(ClusterModel cluster, DestinationModel destination)
    {
        var address = destination.Config.Health ?? destination.Config.Address;
        var path = cluster.Config.HealthCheck?.Active?.Path;
        var request = new HttpRequestMessage(HttpMethod.Get, PassthroughDestinationUrl.Build(address, new Microsoft.AspNetCore.Http.PathString(path), default))
        {
            Version = cluster.Config.HttpRequest?.Version ?? HttpVersion.Version20,
            VersionPolicy = cluster.Config.HttpRequest?.VersionPolicy ?? HttpVersionPolicy.RequestVersionOrLower,
        };
        foreach (var (name, value) in _routes.HeadersOf(cluster.Config.ClusterId))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }
}
