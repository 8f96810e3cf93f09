using StackExchange.Redis;

namespace RpcShield.Upstreams.Budgets;

/// <summary>
/// `redis.url` → StackExchange.Redis options: `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS.
/// Connects lazily and never fails the start (`AbortOnConnectFail = false`): an unreachable Redis is
/// a fallback to local shares, not a config error. Errors never echo the URL (it may hold a password).
/// </summary>
internal static class RedisEndpoint
{
    /// <summary>How long a budget refill may take before the local share decides (no request waits for it).</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(1);

    public static bool TryParse(string url, out ConfigurationOptions? options, out string error)
    {
        options = null;
        error = "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
        {
            error = "must be redis://[:password@]host[:port][/db] or rediss://… (value not shown)";
            return false;
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out database))
        {
            error = "the path must be a database number, e.g. redis://host:6379/0 (value not shown)";
            return false;
        }

        options = new ConfigurationOptions
        {
            Ssl = uri.Scheme == "rediss",
            DefaultDatabase = database,
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            ConnectRetry = 1,
            SyncTimeout = (int)CommandTimeout.TotalMilliseconds,
            AsyncTimeout = (int)CommandTimeout.TotalMilliseconds,
            ReconnectRetryPolicy = new LinearRetry(1000),
            ClientName = "rpcshield",
        };
        options.EndPoints.Add(uri.Host.Trim('[', ']'), uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var info = Uri.UnescapeDataString(uri.UserInfo);
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                options.Password = info;
            }
            else
            {
                options.User = colon > 0 ? info[..colon] : null;
                options.Password = info[(colon + 1)..];
            }
        }

        return true;
    }
}
