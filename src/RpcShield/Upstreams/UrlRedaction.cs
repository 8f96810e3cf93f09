namespace RpcShield.Upstreams;

/// <summary>URLs may carry API keys in path or query: only scheme, host and port are ever shown.</summary>
internal static class UrlRedaction
{
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{uri.Port}" : "(invalid url)";
}
