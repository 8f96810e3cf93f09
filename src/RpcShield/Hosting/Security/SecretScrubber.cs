using RpcShield.Configuration;

namespace RpcShield.Hosting.Security;

/// <summary>
/// Removes every configured secret from error text RpcShield stores or shows (upstream and builder
/// failure reasons, hence `/status`, the journal, `report`, -32090 attempts and -32095 builder
/// reasons): tokens, the signing key, passthrough header values, values that came from `${VAR}`,
/// and the parts of upstream, builder and passthrough URLs that hold keys (user info, path
/// segments and query values that came from `${VAR}` or look like keys). Rebuilt on every reload.
/// </summary>
internal sealed class SecretScrubber
{
    public const string Mask = "***";

    /// <summary>Shorter values are never treated as secrets (`v2`, `1`, `true` would mangle every message).</summary>
    private const int MinLength = 6;

    /// <summary>A URL part this long with letters and digits is taken for a key even when typed into the file.</summary>
    private const int KeyLength = 16;

    private volatile string[] _secrets;

    public SecretScrubber(ProxyOptions options) => _secrets = Collect(options);

    public SecretScrubber(ConfigStore config)
        : this(config.Current) => config.Changed += (_, next) => _secrets = Collect(next);

    /// <summary>The text with every secret replaced by <see cref="Mask"/> (the same instance when it holds none).</summary>
    public string Scrub(string text)
    {
        foreach (var secret in _secrets)
        {
            if (text.Contains(secret, StringComparison.OrdinalIgnoreCase))
            {
                text = text.Replace(secret, Mask, StringComparison.OrdinalIgnoreCase);
            }
        }

        return text;
    }

    /// <summary>
    /// A UTF-8 body with every secret masked: the same buffer when it holds none, otherwise a new
    /// one (the old one is disposed). Only for failure answers, never on the served path.
    /// </summary>
    public JsonRpc.PooledBuffer Scrub(JsonRpc.PooledBuffer body)
    {
        var secrets = _secrets;
        var found = false;
        foreach (var secret in secrets)
        {
            found |= body.Span.IndexOf(System.Text.Encoding.UTF8.GetBytes(secret)) >= 0;
        }

        if (!found)
        {
            return body;
        }

        var text = Scrub(System.Text.Encoding.UTF8.GetString(body.Span));
        var scrubbed = new JsonRpc.PooledBuffer(System.Text.Encoding.UTF8.GetByteCount(text));
        scrubbed.Write(System.Text.Encoding.UTF8.GetBytes(text));
        body.Dispose();
        return scrubbed;
    }

    internal static string[] Collect(ProxyOptions options)
    {
        var environment = options.EnvironmentValues.Where(v => v.Length >= MinLength).ToArray();
        var secrets = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Add(string? value)
        {
            if (value is { Length: >= MinLength })
            {
                secrets.Add(value);
            }
        }

        Add(options.Server.AuthToken);
        Add(options.Admin.Token);
        if (options.Signing.FlashbotsKey is { } key)
        {
            Add(key);
            Add(key.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? key[2..] : null);
        }

        if (options.Journal.Postgres is { } postgres && Journal.PostgresJournalDatabase.TryParse(postgres, out var connection, out _))
        {
            Add(connection!.Password);
        }

        var urls = new List<string>();
        if (options.Redis is { } redis)
        {
            // Its user info is the Redis password.
            urls.Add(redis.Url);
        }

        foreach (var chain in options.Chains)
        {
            urls.AddRange(chain.Upstreams.SelectMany(u => (string?[])[u.Url, u.WsUrl]).OfType<string>());
            urls.AddRange(chain.Builders.Select(b => b.Url));
            urls.AddRange(chain.Builders.SelectMany(b => b.Urls));
        }

        foreach (var route in options.Passthrough)
        {
            urls.AddRange(route.Destinations);
            foreach (var value in route.Headers.Values)
            {
                // `Bearer abc…`: the credential alone too, wherever it shows up.
                Add(value);
                foreach (var word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    Add(word);
                }
            }
        }

        foreach (var url in urls)
        {
            foreach (var (part, credential) in KeyCandidates(url))
            {
                if (credential || LooksLikeKey(part) || environment.Any(v => v.Contains(part, StringComparison.Ordinal)))
                {
                    Add(part);
                }
            }
        }

        // A whole URL from `${VAR}` is not a secret (its host is shown redacted); its key parts are, above.
        foreach (var value in environment)
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out _))
            {
                Add(value);
            }
        }

        // Longest first: a key that contains another is masked whole.
        return secrets.OrderByDescending(s => s.Length).ToArray();
    }

    /// <summary>User info (always a credential), path segments and query values of a URL.</summary>
    private static IEnumerable<(string Part, bool Credential)> KeyCandidates(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            yield break;
        }

        foreach (var part in uri.UserInfo.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            yield return (Uri.UnescapeDataString(part), true);
        }

        foreach (var segment in uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            yield return (Uri.UnescapeDataString(segment), false);
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0 && equals < pair.Length - 1)
            {
                yield return (Uri.UnescapeDataString(pair[(equals + 1)..]), false);
            }
        }
    }

    private static bool LooksLikeKey(string part) =>
        part.Length >= KeyLength && part.Any(char.IsAsciiDigit) && part.Any(char.IsAsciiLetter);
}
