namespace RpcShield.Features.Fanout;

internal enum BuilderOutcomeKind
{
    /// <summary>The builder accepted the submission (a JSON-RPC result).</summary>
    Ok,
    /// <summary>Rejected: HTTP error, JSON-RPC error, non-JSON body, connection failure.</summary>
    Error,
    /// <summary>No answer within the builder's `timeout`.</summary>
    Timeout,
    /// <summary>HTTP 429 / rate-limit error, or RpcShield's own `max_rps` budget for the builder.</summary>
    Throttled,
}

/// <summary>
/// What one builder did with one submission. <see cref="Body"/> is the builder's own answer (kept
/// for the journal and, for pass-through methods, for the bot); bounded by <see cref="BuilderSender.MaxAnswerBytes"/>.
/// </summary>
internal sealed class BuilderOutcome
{
    public required string Builder { get; init; }

    public required BuilderOutcomeKind Kind { get; init; }

    /// <summary>Short, secret-free reason: `ok`, `timeout`, `http_403 error in signature check`, `-32600 signature is required`.</summary>
    public required string Reason { get; init; }

    /// <summary>HTTP status (0 when there was no HTTP answer).</summary>
    public int StatusCode { get; init; }

    public byte[]? Body { get; init; }

    public TimeSpan Latency { get; init; }

    /// <summary>The builder's own bundle id from a `{bundleHash}` answer (`result_shape: bundle_hash`), else null.</summary>
    public string? BuilderBundleHash { get; set; }

    public bool IsOk => Kind == BuilderOutcomeKind.Ok;

    /// <summary>Bounded label for metrics and `X-RpcShield-Builders`: ok, error, timeout, throttled.</summary>
    public string Label => LabelOf(Kind);

    public static string LabelOf(BuilderOutcomeKind kind) => kind switch
    {
        BuilderOutcomeKind.Ok => "ok",
        BuilderOutcomeKind.Timeout => "timeout",
        BuilderOutcomeKind.Throttled => "throttled",
        _ => "error",
    };

    /// <summary>An outcome made without an HTTP exchange (budget, chaos).</summary>
    public static BuilderOutcome Local(string builder, BuilderOutcomeKind kind, string reason, TimeSpan latency = default) =>
        new() { Builder = builder, Kind = kind, Reason = reason, Latency = latency };
}
