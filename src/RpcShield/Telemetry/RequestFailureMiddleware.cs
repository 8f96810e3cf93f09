using Microsoft.AspNetCore.Http;

namespace RpcShield.Telemetry;

/// <summary>
/// Hands exceptions escaping routed requests (WebSocket, admin, status, passthrough…) to
/// <see cref="RequestFailures"/>. JSON-RPC POSTs are served ahead of it and catch their own.
/// </summary>
internal sealed class RequestFailureMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RequestFailures _failures;

    public RequestFailureMiddleware(RequestDelegate next, RequestFailures failures)
    {
        _next = next;
        _failures = failures;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await _failures.HandleAsync(context, ex).ConfigureAwait(false);
        }
    }
}
