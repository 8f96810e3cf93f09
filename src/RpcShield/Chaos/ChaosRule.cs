using RpcShield.Configuration;
using RpcShield.Routing;

namespace RpcShield.Chaos;

/// <summary>Where a rule injects: in front of routing (client), inside an upstream attempt, or inside a builder submission.</summary>
internal enum ChaosScope
{
    Client,
    Upstream,
    Builder,
}

/// <summary>The fault a rule injects (wire names in <see cref="ChaosFaults"/>).</summary>
internal enum ChaosFault
{
    Http500,
    Http429,
    JsonRpcError,
    Latency,
    Timeout,
    Reset,
    StaleHead,
    WsDisconnect,
    BuilderReject,
    BuilderTimeout,
}

internal static class ChaosFaults
{
    public static string Name(ChaosFault fault) => fault switch
    {
        ChaosFault.Http500 => "http_500",
        ChaosFault.Http429 => "http_429",
        ChaosFault.JsonRpcError => "jsonrpc_error",
        ChaosFault.Latency => "latency",
        ChaosFault.Timeout => "timeout",
        ChaosFault.Reset => "reset",
        ChaosFault.StaleHead => "stale_head",
        ChaosFault.WsDisconnect => "ws_disconnect",
        ChaosFault.BuilderReject => "builder_reject",
        _ => "builder_timeout",
    };

    public static bool TryParse(string? text, out ChaosFault fault)
    {
        foreach (var candidate in Enum.GetValues<ChaosFault>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                fault = candidate;
                return true;
            }
        }

        fault = default;
        return false;
    }

    public static bool TryParseScope(string? text, out ChaosScope scope)
    {
        switch (text?.ToLowerInvariant())
        {
            case "client":
                scope = ChaosScope.Client;
                return true;
            case "upstream":
                scope = ChaosScope.Upstream;
                return true;
            case "builder":
                scope = ChaosScope.Builder;
                return true;
            default:
                scope = default;
                return false;
        }
    }

    public static string ScopeName(ChaosScope scope) => scope.ToString().ToLowerInvariant();
}

/// <summary>
/// A compiled, immutable chaos rule: from proxy.yaml (source `config`), the admin API
/// (`runtime`, with an expiry) or one request's `X-RpcShield-Chaos` header (`header`).
/// </summary>
internal sealed record ChaosRule
{
    /// <summary>Default JSON-RPC error code of injected errors (DESIGN.md: -32094).</summary>
    public const int DefaultErrorCode = -32094;

    public required string Name { get; init; }
    public required ChaosScope Scope { get; init; }
    public required ChaosFault Fault { get; init; }
    public IReadOnlyList<string> Chains { get; init; } = [];
    public IReadOnlyList<string> Targets { get; init; } = [];
    public IReadOnlyList<string> Methods { get; init; } = [];
    public double Rate { get; init; } = 1.0;
    public LatencyRange? Latency { get; init; }
    public int ErrorCode { get; init; } = DefaultErrorCode;
    public string ErrorMessage { get; init; } = "chaos: injected error";
    public int StaleBlocks { get; init; } = 3;
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);
    public bool AllowSends { get; init; }
    public string Source { get; init; } = "config";
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>True when the rule applies to this chain, target (upstream/builder name) and method.</summary>
    public bool Matches(string chain, string? target, string method) =>
        (Chains.Count == 0 || Chains.Contains(chain, StringComparer.Ordinal))
        && (Targets.Count == 0 || (target is not null && Targets.Contains(target, StringComparer.Ordinal)))
        && (Methods.Count == 0 || MethodGlob.MatchesAny(Methods, method));

    /// <summary>Picks a delay in the rule's latency range (uniform) with the injected random source.</summary>
    public TimeSpan PickLatency(double random)
    {
        var range = Latency ?? new LatencyRange(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
        return range.Min + ((range.Max - range.Min) * Math.Clamp(random, 0, 1));
    }

    /// <summary>Compiles a validated proxy.yaml / admin rule. Returns null with an error for invalid input.</summary>
    public static ChaosRule? From(ChaosRuleOptions options, string source, DateTimeOffset? expiresAt, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(options.Name))
        {
            error = "name is required";
            return null;
        }

        if (!ChaosFaults.TryParseScope(options.Scope, out var scope))
        {
            error = "scope must be client, upstream or builder";
            return null;
        }

        if (!ChaosFaults.TryParse(options.Fault, out var fault))
        {
            error = "unknown fault";
            return null;
        }

        if (options.Rate is < 0 or > 1 || double.IsNaN(options.Rate))
        {
            error = "rate must be between 0 and 1";
            return null;
        }

        if (scope == ChaosScope.Client && options.Targets.Count > 0)
        {
            error = "targets apply to upstream and builder scope only";
            return null;
        }

        LatencyRange? latency = null;
        if (options.Latency is not null)
        {
            if (!LatencyRange.TryParse(options.Latency, out var parsed))
            {
                error = "latency must be a duration or a range like 1ms..500ms";
                return null;
            }

            latency = parsed;
        }
        else if (fault == ChaosFault.Latency)
        {
            error = "latency is required for fault latency";
            return null;
        }

        return new ChaosRule
        {
            Name = options.Name,
            Scope = scope,
            Fault = fault,
            Chains = options.Chains.ToArray(),
            Targets = options.Targets.ToArray(),
            Methods = options.Methods.ToArray(),
            Rate = options.Rate,
            Latency = latency,
            ErrorCode = options.ErrorCode ?? DefaultErrorCode,
            ErrorMessage = options.ErrorMessage is { Length: > 0 } message
                ? (message.StartsWith("chaos:", StringComparison.Ordinal) ? message : "chaos: " + message)
                : "chaos: injected error",
            StaleBlocks = Math.Max(1, options.StaleBlocks),
            RetryAfter = options.RetryAfter ?? TimeSpan.FromSeconds(1),
            AllowSends = options.AllowSends,
            Source = source,
            ExpiresAt = expiresAt,
        };
    }

    /// <summary>Applies the configured caps (max rate, max latency) to a runtime or header rule.</summary>
    public ChaosRule Clamp(ChaosOptions caps)
    {
        var latency = Latency;
        if (latency is { } range && (range.Max > caps.MaxLatency || range.Min > caps.MaxLatency))
        {
            latency = new LatencyRange(TimeSpan.FromTicks(Math.Min(range.Min.Ticks, caps.MaxLatency.Ticks)), caps.MaxLatency);
        }

        return this with { Rate = Math.Min(Rate, caps.MaxRate), Latency = latency };
    }
}
