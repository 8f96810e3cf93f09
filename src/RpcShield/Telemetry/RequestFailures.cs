using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RpcShield.JsonRpc;

namespace RpcShield.Telemetry;

/// <summary>
/// What happens to an exception that escapes a request handler. One the client caused (a body the
/// JSON reader cannot decode, a client that went away) is a debug line without a stack trace and,
/// when the response has not started, a -32700 answer; anything else is a rate-limited warning
/// (<see cref="LogLimiter"/>) and a -32603 HTTP 500. Never Kestrel's per-request `fail` with a stack trace.
/// </summary>
internal sealed partial class RequestFailures
{
    private readonly LogLimiter _limiter;
    private readonly ILogger<RequestFailures> _logger;

    public RequestFailures(LogLimiter limiter, ILogger<RequestFailures> logger)
    {
        _limiter = limiter;
        _logger = logger;
    }

    /// <summary>True for failures caused by what the client sent or did, not by RpcShield.</summary>
    public static bool IsClientCaused(Exception exception, HttpContext context) => exception switch
    {
        JsonException or DecoderFallbackException or BadHttpRequestException or ConnectionResetException => true,
        // Utf8JsonReader throws InvalidOperationException for input it cannot decode (lone surrogates, bad escapes).
        InvalidOperationException when exception.TargetSite?.DeclaringType?.Assembly == typeof(JsonException).Assembly => true,
        OperationCanceledException or IOException => context.RequestAborted.IsCancellationRequested,
        _ => false,
    };

    public Task HandleAsync(HttpContext context, Exception exception)
    {
        var clientCaused = IsClientCaused(exception, context);
        if (_limiter.TryAcquire(clientCaused ? LogCategories.ClientError : LogCategories.RequestFailure, out var suppressed))
        {
            if (clientCaused)
            {
                LogClientError(context.Request.Method, exception.GetType().Name, Truncate(exception.Message), suppressed);
            }
            else
            {
                LogRequestFailure(exception, context.Request.Method, suppressed);
            }
        }

        if (context.Response.HasStarted)
        {
            // Half a response cannot be mended: end the connection so the client sees a failure, not a truncated success.
            context.Abort();
            return Task.CompletedTask;
        }

        var response = context.Response;
        response.Clear();
        if (context.RequestAborted.IsCancellationRequested)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = clientCaused ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError;
        response.ContentType = "application/json";
        var body = clientCaused
            ? RpcResponseWriter.ErrorBytes(default, RpcErrorCodes.ParseError, "Parse error: malformed JSON")
            : RpcResponseWriter.ErrorBytes(default, RpcErrorCodes.InternalError, "Internal error");
        return response.Body.WriteAsync(body).AsTask();
    }

    private static string Truncate(string message) => message.Length <= 160 ? message : message[..160];

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client request {Method} rejected: {Kind}: {Detail} ({Suppressed} similar lines suppressed before this one)")]
    private partial void LogClientError(string method, string kind, string detail, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {Method} failed inside RpcShield ({Suppressed} similar lines suppressed before this one)")]
    private partial void LogRequestFailure(Exception exception, string method, long suppressed);
}
