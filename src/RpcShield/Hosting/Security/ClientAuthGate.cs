using Microsoft.AspNetCore.Http;

namespace RpcShield.Hosting.Security;

/// <summary>
/// Runs after routing: a request that did not present the client token reaches only endpoints
/// marked <see cref="ClientTokenNotRequired"/>; anything else (JSON-RPC, WebSocket, status, an
/// unknown path) gets the 401. Requests on the metrics listener (`server.metrics_listen`) reach
/// only /metrics, /healthz and /readyz there and need no token.
/// </summary>
internal sealed class ClientAuthGate
{
    private readonly RequestDelegate _next;

    public ClientAuthGate(RequestDelegate next) => _next = next;

    public Task InvokeAsync(HttpContext context) =>
        ClientAuthMiddleware.Authenticated(context) || context.GetEndpoint()?.Metadata.GetMetadata<ClientTokenNotRequired>() is not null
            || Telemetry.MetricsListener.Serves(context)
            ? _next(context)
            : ClientAuthMiddleware.RejectAsync(context);
}
