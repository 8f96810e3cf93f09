using RpcShield.Upstreams.Transport;
using System.Net;
using System.Text.RegularExpressions;

namespace RpcShield.Configuration;

/// <summary>Semantic checks after binding. Messages never echo URL or key values (they may hold secrets).</summary>
internal static partial class ConfigValidator
{
    private const int MinTokenLength = 16;
    private static readonly string[] Tiers = ["primary", "fallback"];
    private static readonly string[] CancelStyles = ["method", "empty_bundle"];
    internal static readonly string[] ChaosScopes = ["client", "upstream", "builder"];
    internal static readonly string[] ChaosFaults =
        ["http_500", "http_429", "jsonrpc_error", "latency", "timeout", "reset", "stale_head", "ws_disconnect", "builder_reject", "builder_timeout"];

    public static List<ConfigError> Validate(ProxyOptions options)
    {
        var errors = new List<ConfigError>();
        void Error(string path, string message) => errors.Add(new ConfigError(path, message));

        ValidateServer(options.Server, Error);
        ValidateToken(options.Admin.Token, "admin.token", Error);

        if (options.Chains.Count == 0)
        {
            Error("chains", "at least one chain is required");
        }

        Unique(options.Chains.Select(c => c.Name), "chains", "chain", Error);
        for (var c = 0; c < options.Chains.Count; c++)
        {
            ValidateChain(options.Chains[c], $"chains[{c}]", Error);
        }

        if (!string.IsNullOrEmpty(options.Signing.FlashbotsKey) && !IsPrivateKey(options.Signing.FlashbotsKey))
        {
            Error("signing.flashbots_key", "must be a 32-byte hex secp256k1 private key (value not shown)");
        }

        if (options.Journal.RetentionDays < 1)
        {
            Error("journal.retention_days", "must be at least 1");
        }

        if (options.Journal.QueueCapacity < 1)
        {
            Error("journal.queue_capacity", "must be at least 1");
        }

        if (options.Journal.StatsInterval < TimeSpan.FromMilliseconds(100))
        {
            Error("journal.stats_interval", "must be at least 100ms");
        }

        RpcShield.Features.Caching.CacheOptionsValidator.Validate(options.Cache, "cache", Error);
        if (options.Journal.MaxBytes < 1L << 20)
        {
            Error("journal.max_bytes", "must be at least 1MiB");
        }

        FleetOptionsValidator.Validate(options, Error);

        for (var p = 0; p < options.Passthrough.Count; p++)
        {
            var route = options.Passthrough[p];
            if (!route.Path.StartsWith('/'))
            {
                Error($"passthrough[{p}].path", "must start with '/'");
            }

            if (route.Destinations.Count == 0)
            {
                Error($"passthrough[{p}].destinations", "at least one destination is required");
            }

            for (var d = 0; d < route.Destinations.Count; d++)
            {
                if (!IsHttpUrl(route.Destinations[d]))
                {
                    Error($"passthrough[{p}].destinations[{d}]", "must be an absolute http(s) URL");
                }
            }
        }

        RpcShield.Hosting.Passthrough.PassthroughValidation.Validate(options, Error);

        ValidateChaos(options.Chaos, Error);
        if (options.Telemetry.OtlpEndpoint is { } otlp && (!IsHttpUrl(otlp) || !string.IsNullOrEmpty(new Uri(otlp).UserInfo)))
        {
            Error("telemetry.otlp_endpoint", "must be an absolute http(s) URL without credentials, e.g. http://127.0.0.1:4318");
        }
        // Extension sections (`sandbox:`) are checked by the extension that reads them, when it is installed.
        foreach (var extension in RpcShield.Hosting.Cli.CommandExtensions.All)
        {
            extension.Validate(options, Error);
        }

        return errors;
    }

    private static void ValidateServer(ServerOptions server, Action<string, string> error)
    {
        if (!Uri.TryCreate(server.Listen, UriKind.Absolute, out var listen) || listen.Scheme != Uri.UriSchemeHttp)
        {
            error("server.listen", "must be an http:// URL with host and port");
        }
        else if (!IsLoopback(listen.Host) && server.AuthToken is null)
        {
            error("server.auth_token", "required when server.listen is not a loopback address (RpcShield spends your RPC keys)");
        }

        ValidateToken(server.AuthToken, "server.auth_token", error);

        if (server.MaxBodyBytes < 1024)
        {
            error("server.max_body_bytes", "must be at least 1024");
        }

        if (server.MaxBatchItems < 1)
        {
            error("server.max_batch_items", "must be at least 1");
        }

        if (server.ShutdownTimeout < TimeSpan.Zero || server.ShutdownTimeout > TimeSpan.FromMinutes(5))
        {
            error("server.shutdown_timeout", "must be between 0s and 5m");
        }

        RpcShield.Features.Subscriptions.SubscriptionOptionsValidator.ValidateServer(server.Websocket, "server.websocket", error);
        ValidateMetricsListen(server, error);
    }

    private static void ValidateMetricsListen(ServerOptions server, Action<string, string> error)
    {
        if (server.MetricsListen is null)
        {
            return;
        }

        if (!Uri.TryCreate(server.MetricsListen, UriKind.Absolute, out var metrics) || metrics.Scheme != Uri.UriSchemeHttp
            || metrics.AbsolutePath != "/" || !(metrics.Host is "localhost" || IPAddress.TryParse(metrics.Host.Trim('[', ']'), out _)))
        {
            error("server.metrics_listen", "must be an http:// URL with an IP address (or localhost) and a port, e.g. http://0.0.0.0:9464");
        }
        else if (Uri.TryCreate(server.Listen, UriKind.Absolute, out var listen) && listen.Port == metrics.Port && metrics.Port != 0)
        {
            error("server.metrics_listen", $"must use another port than server.listen ({listen.Port})");
        }
    }

    /// <summary>A token that is set must be guessable by nobody: blank or short ones are refused (the value is never shown).</summary>
    private static void ValidateToken(string? token, string path, Action<string, string> error)
    {
        if (token is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(token))
        {
            error(path, "is blank: set a token of at least 16 characters or remove the key");
        }
        else if (token.Length < MinTokenLength)
        {
            error(path, $"too short: at least {MinTokenLength} characters (value not shown)");
        }
    }

    private static void ValidateChain(ChainOptions chain, string path, Action<string, string> error)
    {
        if (!ChainName().IsMatch(chain.Name))
        {
            error($"{path}.name", "must be lowercase letters, digits, '-' or '_'");
        }
        else if (ReservedPaths.Contains(chain.Name))
        {
            error($"{path}.name", $"'{chain.Name}' is reserved for RpcShield's own endpoints ({string.Join(", ", ReservedPaths.FirstSegments)})");
        }

        if (chain.ChainId <= 0)
        {
            error($"{path}.chain_id", "must be a positive integer");
        }

        if (chain.Upstreams.Count == 0)
        {
            error($"{path}.upstreams", "at least one upstream is required");
        }

        RpcShield.Features.Caching.CacheOptionsValidator.Validate(chain.Cache, $"{path}.cache", error);

        Unique(chain.Upstreams.Select(u => u.Name), $"{path}.upstreams", "upstream", error);
        for (var u = 0; u < chain.Upstreams.Count; u++)
        {
            var upstream = chain.Upstreams[u];
            var up = $"{path}.upstreams[{u}]";
            if (string.IsNullOrWhiteSpace(upstream.Name))
            {
                error($"{up}.name", "is required");
            }

            if (!IsHttpUrl(upstream.Url))
            {
                error($"{up}.url", "must be an absolute http(s) URL");
            }

            if (upstream.WsUrl is not null && !IsWsUrl(upstream.WsUrl))
            {
                error($"{up}.ws_url", "must be an absolute ws(s) URL");
            }

            if (!Tiers.Contains(upstream.Tier))
            {
                error($"{up}.tier", "must be primary or fallback");
            }

            if (upstream.Transport is not (UpstreamTransports.Auto or UpstreamTransports.HttpClient))
            {
                error($"{up}.transport", "must be auto or httpclient");
            }

            if (upstream.MaxRps < 0)
            {
                error($"{up}.max_rps", "must be 0 (unlimited) or positive");
            }

            if (upstream.MaxBatch < 0)
            {
                error($"{up}.max_batch", "must be 0 (never batch) or positive");
            }

            if (upstream.MaxConcurrency < 0)
            {
                error($"{up}.max_concurrency", "must be 0 (unlimited) or positive");
            }
        }

        var names = chain.Upstreams.Select(u => u.Name).ToHashSet(StringComparer.Ordinal);
        for (var r = 0; r < chain.Routes.Count; r++)
        {
            var route = chain.Routes[r];
            if (route.Methods.Count == 0)
            {
                error($"{path}.routes[{r}].methods", "at least one method glob is required");
            }

            if (route.Upstreams.Count == 0)
            {
                error($"{path}.routes[{r}].upstreams", "at least one upstream is required");
            }

            for (var i = 0; i < route.Upstreams.Count; i++)
            {
                if (!names.Contains(route.Upstreams[i]))
                {
                    error($"{path}.routes[{r}].upstreams[{i}]", $"no upstream named '{route.Upstreams[i]}' in this chain");
                }
            }
        }

        Unique(chain.Builders.Select(b => b.Name), $"{path}.builders", "builder", error);
        for (var b = 0; b < chain.Builders.Count; b++)
        {
            var builder = chain.Builders[b];
            var bp = $"{path}.builders[{b}]";
            if (string.IsNullOrWhiteSpace(builder.Name))
            {
                error($"{bp}.name", "is required");
            }

            if (!(builder.Urls.Count > 0 && builder.Url.Length == 0) && !IsHttpUrl(builder.Url))
            {
                error($"{bp}.url", builder.Urls.Count > 0 ? "must be an absolute http(s) URL" : "must be an absolute http(s) URL (or set urls)");
            }

            for (var u = 0; u < builder.Urls.Count; u++)
            {
                if (!IsHttpUrl(builder.Urls[u]))
                {
                    error($"{bp}.urls[{u}]", "must be an absolute http(s) URL");
                }
            }

            if (!Features.Fanout.BuilderProfile.Names.Contains(builder.Profile))
            {
                error($"{bp}.profile", $"must be one of {string.Join(", ", Features.Fanout.BuilderProfile.Names)}");
            }

            if (builder.ResultShape is not null && !Features.Fanout.BuilderProfile.ResultShapes.Contains(builder.ResultShape))
            {
                error($"{bp}.result_shape", $"must be one of {string.Join(", ", Features.Fanout.BuilderProfile.ResultShapes)}");
            }

            if (builder.SignatureHeader is not null && (builder.SignatureHeader.Length == 0 || !builder.SignatureHeader.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
            {
                error($"{bp}.signature_header", "must be an HTTP header name (letters, digits, '-')");
            }

            if (builder.Timeout <= TimeSpan.Zero)
            {
                error($"{bp}.timeout", "must be positive");
            }

            if (builder.CancelStyle is not null && !CancelStyles.Contains(builder.CancelStyle))
            {
                error($"{bp}.cancel_style", "must be method or empty_bundle");
            }

            if (builder.Coinbase is not null && !IsAddress(builder.Coinbase))
            {
                error($"{bp}.coinbase", "must be a 20-byte hex address");
            }

            if (builder.MaxRps < 0)
            {
                error($"{bp}.max_rps", "must not be negative");
            }
        }

        ValidateRouting(chain.Routing, $"{path}.routing", error);

        var degradation = chain.Degradation;
        if (degradation.MinimalBelowHealthy < 0 || degradation.DegradedBelowHealthy < degradation.MinimalBelowHealthy)
        {
            error($"{path}.degradation", "need 0 <= minimal_below_healthy <= degraded_below_healthy");
        }

        if (degradation.MinTimeInMode < TimeSpan.Zero)
        {
            error($"{path}.degradation.min_time_in_mode", "must not be negative");
        }

        if (degradation.DegradedAboveFailureRate is < 0 or > 1 || degradation.MinimalAboveFailureRate is < 0 or > 1
            || (degradation.DegradedAboveFailureRate > 0 && degradation.MinimalAboveFailureRate > 0 && degradation.MinimalAboveFailureRate < degradation.DegradedAboveFailureRate))
        {
            error($"{path}.degradation", "need 0 <= degraded_above_failure_rate <= minimal_above_failure_rate <= 1 (0 disables one)");
        }

        if (degradation.FailureMinRequests < 1)
        {
            error($"{path}.degradation.failure_min_requests", "must be at least 1");
        }
    }

    private static void ValidateRouting(RoutingOptions routing, string path, Action<string, string> error)
    {
        RpcShield.Features.Subscriptions.SubscriptionOptionsValidator.ValidateRouting(routing.Subscriptions, $"{path}.subscriptions", error);
        RpcShield.Upstreams.Heads.ConsistencyOptionsValidator.Validate(routing.Consistency, $"{path}.consistency", error);
        if (routing.FanoutGrace < TimeSpan.Zero)
        {
            error($"{path}.fanout_grace", "must not be negative");
        }

        var health = routing.Health;
        Positive(health.Interval, $"{path}.health.interval", error);
        Positive(health.Timeout, $"{path}.health.timeout", error);
        if (health.FailAfter < 1)
        {
            error($"{path}.health.fail_after", "must be at least 1");
        }

        if (health.RecoverAfter < 1)
        {
            error($"{path}.health.recover_after", "must be at least 1");
        }

        if (health.MaxBlockLag < 0)
        {
            error($"{path}.health.max_block_lag", "must not be negative");
        }

        Positive(routing.Timeouts.Default, $"{path}.timeouts.default", error);
        Positive(routing.Timeouts.PerAttempt, $"{path}.timeouts.per_attempt", error);
        foreach (var (method, timeout) in routing.Timeouts.Methods)
        {
            Positive(timeout, $"{path}.timeouts.methods.{method}", error);
        }

        if (routing.Retries is < 0 or > 10)
        {
            error($"{path}.retries", "must be between 0 and 10");
        }

        var hedge = routing.Hedge;
        if (hedge.Quantile is <= 0 or >= 1)
        {
            error($"{path}.hedge.quantile", "must be between 0 and 1 (exclusive)");
        }

        if (hedge.Min < TimeSpan.Zero || hedge.Max < hedge.Min)
        {
            error($"{path}.hedge", "need 0 <= min <= max");
        }

        if (hedge.ColdStart < TimeSpan.Zero)
        {
            error($"{path}.hedge.cold_start", "must not be negative");
        }

        if (hedge.MaxExtra is < 0 or > 5)
        {
            error($"{path}.hedge.max_extra", "must be between 0 and 5");
        }

        var breaker = routing.CircuitBreaker;
        if (breaker.FailureRatio is <= 0 or > 1)
        {
            error($"{path}.circuit_breaker.failure_ratio", "must be in (0, 1]");
        }

        if (breaker.MinRequests < 2)
        {
            error($"{path}.circuit_breaker.min_requests", "must be at least 2");
        }

        if (breaker.Window < TimeSpan.FromMilliseconds(500))
        {
            error($"{path}.circuit_breaker.window", "must be at least 500ms");
        }

        if (breaker.Break < TimeSpan.FromMilliseconds(500))
        {
            error($"{path}.circuit_breaker.break", "must be at least 500ms");
        }
    }

    private static void ValidateChaos(ChaosOptions chaos, Action<string, string> error)
    {
        if (chaos.MaxRate is < 0 or > 1)
        {
            error("chaos.max_rate", "must be between 0 and 1");
        }

        Positive(chaos.MaxLatency, "chaos.max_latency", error);
        if (chaos.MaxActiveRules < 1)
        {
            error("chaos.max_active_rules", "must be at least 1");
        }

        Unique(chaos.Rules.Select(r => r.Name), "chaos.rules", "rule", error);
        for (var i = 0; i < chaos.Rules.Count; i++)
        {
            var rule = chaos.Rules[i];
            var path = $"chaos.rules[{i}]";
            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                error($"{path}.name", "is required");
            }

            if (!ChaosScopes.Contains(rule.Scope))
            {
                error($"{path}.scope", $"must be one of {string.Join(", ", ChaosScopes)}");
            }

            if (!ChaosFaults.Contains(rule.Fault))
            {
                error($"{path}.fault", $"must be one of {string.Join(", ", ChaosFaults)}");
            }

            if (rule.Rate is < 0 or > 1)
            {
                error($"{path}.rate", "must be between 0 and 1");
            }

            if (rule.Scope == "client" && rule.Targets.Count > 0)
            {
                error($"{path}.targets", "apply to upstream and builder scope only");
            }

            if (rule.Latency is not null && !LatencyRange.TryParse(rule.Latency, out _))
            {
                error($"{path}.latency", "must be a duration or a range like 1ms..500ms");
            }
            else if (rule.Fault == "latency" && rule.Latency is null)
            {
                error($"{path}.latency", "is required for fault latency");
            }
        }
    }

    private static void Positive(TimeSpan value, string path, Action<string, string> error)
    {
        if (value <= TimeSpan.Zero)
        {
            error(path, "must be a positive duration");
        }
    }

    private static void Unique(IEnumerable<string> names, string path, string what, Action<string, string> error)
    {
        foreach (var duplicate in names.Where(n => !string.IsNullOrEmpty(n)).GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            error(path, $"duplicate {what} name '{duplicate.Key}'");
        }
    }

    internal static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0;

    private static bool IsWsUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == "ws" || uri.Scheme == "wss") && uri.Host.Length > 0;

    private static bool IsPrivateKey(string value) => PrivateKey().IsMatch(value);

    private static bool IsAddress(string value) => Address().IsMatch(value);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex ChainName();

    [GeneratedRegex("^(0x)?[0-9a-fA-F]{64}$")]
    private static partial Regex PrivateKey();

    [GeneratedRegex("^0x[0-9a-fA-F]{40}$")]
    private static partial Regex Address();
}

/// <summary>`100ms` (fixed) or `1ms..500ms` (uniform range).</summary>
internal readonly record struct LatencyRange(TimeSpan Min, TimeSpan Max)
{
    public static bool TryParse(string text, out LatencyRange range)
    {
        range = default;
        var parts = text.Split("..", StringSplitOptions.TrimEntries);
        if (parts.Length is < 1 or > 2 || !DurationParser.TryParse(parts[0], out var min))
        {
            return false;
        }

        var max = min;
        if (parts.Length == 2 && (!DurationParser.TryParse(parts[1], out max) || max < min))
        {
            return false;
        }

        range = new LatencyRange(min, max);
        return true;
    }
}
