using Microsoft.AspNetCore.Http;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Subscriptions;

/// <summary>`GET /` and `GET /{chain}` with a WebSocket upgrade: JSON-RPC over WebSocket.</summary>
internal sealed class WebSocketEndpoint
{
    private readonly ChainRegistry _chains;
    private readonly ConfigStore _config;
    private readonly RpcProcessor _processor;
    private readonly SubscriptionHub _hub;
    private readonly ILogger<WebSocketEndpoint> _logger;

    public WebSocketEndpoint(ChainRegistry chains, ConfigStore config, RpcProcessor processor, SubscriptionHub hub, ILogger<WebSocketEndpoint> logger)
    {
        _chains = chains;
        _config = config;
        _processor = processor;
        _hub = hub;
        _logger = logger;
    }

    public Task HandleDefaultAsync(HttpContext context) => HandleAsync(context, _chains.Default);

    public Task HandleNamedAsync(HttpContext context)
    {
        var name = context.Request.RouteValues["chain"] as string ?? "";
        return _chains.TryGet(name, out var chain)
            ? HandleAsync(context, chain)
            : ErrorAsync(context, StatusCodes.Status404NotFound, RpcErrorCodes.UnknownChain, "Unknown chain");
    }

    private async Task HandleAsync(HttpContext context, ChainRuntime chain)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, RpcErrorCodes.InvalidRequest,
                "GET needs a WebSocket upgrade (JSON-RPC over WebSocket); send plain JSON-RPC with POST").ConfigureAwait(false);
            return;
        }

        var server = _config.Current.Server;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = server.Websocket.PingInterval,
            KeepAliveTimeout = server.Websocket.PingTimeout,
        }).ConfigureAwait(false);
        var connection = new WsClientConnection(socket, chain, _chains, _processor, _hub, server, context, _logger);
        await connection.RunAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task ErrorAsync(HttpContext context, int status, int code, string message)
    {
        var body = RpcResponseWriter.ErrorBytes(default, code, message);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
