using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Routing;

/// <summary>One `{upstream, reason}` entry of -32090's `data.attempts` (secret-free).</summary>
internal readonly record struct AttemptRecord(string Upstream, string Reason);

/// <summary>
/// What the request path answers for one JSON-RPC item: upstream bytes to pass through, or a
/// locally made error. Owns <see cref="Body"/>.
/// </summary>
internal sealed class ForwardResult : IDisposable
{
    public PooledBuffer? Body { get; private init; }

    public Upstream? ServedBy { get; private init; }

    public int ErrorCode { get; private init; }

    public string? ErrorMessage { get; private init; }

    public IReadOnlyList<AttemptRecord> Attempts { get; private init; } = [];

    /// <summary>Extra `data` writer for local errors (e.g. builders for -32095).</summary>
    public Action<System.Text.Json.Utf8JsonWriter>? ErrorData { get; private init; }

    /// <summary>Outcome label for metrics: ok, upstream_error (node error passed through), or error.</summary>
    public string Outcome { get; private init; } = "ok";

    public bool IsLocalError => Body is null;

    public static ForwardResult Served(PooledBuffer body, Upstream upstream, bool nodeError, IReadOnlyList<AttemptRecord> attempts) =>
        new() { Body = body, ServedBy = upstream, Attempts = attempts, Outcome = nodeError ? "upstream_error" : "ok" };

    /// <summary>A response made by RpcShield itself (e.g. the fan-out's `{bundleHash}`), not served by an upstream.</summary>
    public static ForwardResult Local(PooledBuffer body, string outcome = "ok") => new() { Body = body, Outcome = outcome };

    public static ForwardResult Error(int code, string message, IReadOnlyList<AttemptRecord>? attempts = null, Action<System.Text.Json.Utf8JsonWriter>? data = null) =>
        new()
        {
            ErrorCode = code,
            ErrorMessage = message,
            Attempts = attempts ?? [],
            ErrorData = data ?? (attempts is { Count: > 0 } list ? w => WriteAttempts(w, list) : null),
            Outcome = code switch
            {
                RpcErrorCodes.Shed => "shed",
                RpcErrorCodes.MinimalMode => "rejected",
                RpcErrorCodes.MethodNotFound => "denied",
                RpcErrorCodes.Chaos => "chaos",
                RpcErrorCodes.InvalidRequest or RpcErrorCodes.ParseError or RpcErrorCodes.InvalidParams => "invalid",
                _ => "error",
            },
        };

    private static void WriteAttempts(System.Text.Json.Utf8JsonWriter writer, IReadOnlyList<AttemptRecord> attempts)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("attempts"u8);
        foreach (var attempt in attempts)
        {
            writer.WriteStartObject();
            writer.WriteString("upstream"u8, attempt.Upstream);
            writer.WriteString("reason"u8, attempt.Reason);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public void Dispose() => Body?.Dispose();
}
