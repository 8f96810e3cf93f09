using RpcShield.Configuration;

namespace RpcShield.Upstreams.Transport;

/// <summary>Picks an upstream's transport: the lean HTTP/1.1 client for http://, HttpClient otherwise or when asked.</summary>
internal static class UpstreamTransports
{
    public const string Auto = "auto";
    public const string HttpClient = "httpclient";

    private static readonly UpstreamClientFactory Clients = new();

    public static IUpstreamTransport Create(UpstreamOptions options, TimeProvider time)
    {
        var url = new Uri(options.Url);
        return url.Scheme == Uri.UriSchemeHttp && options.Transport != HttpClient
            ? new Http1Transport(url, UpstreamClientFactory.ConnectTimeout, time)
            : new HttpClientTransport(Clients.Create(), url);
    }
}
