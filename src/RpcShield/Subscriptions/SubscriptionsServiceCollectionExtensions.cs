using Microsoft.AspNetCore.Builder;
using RpcShield.JsonRpc;
using RpcShield.Status;

namespace RpcShield.Subscriptions;

internal static class SubscriptionsServiceCollectionExtensions
{
    /// <summary>JSON-RPC over WebSocket and `eth_subscribe` that survives upstream loss.</summary>
    public static IServiceCollection AddSubscriptions(this IServiceCollection services)
    {
        services.AddSingleton<SubscriptionHub>();
        services.AddSingleton<IRpcHandler, SubscriptionRpcHandler>();
        services.AddSingleton<IStatusContributor, SubscriptionStatusContributor>();
        services.AddSingleton<WebSocketEndpoint>();
        return services;
    }

    /// <summary>`GET /` and `GET /{chain}` (WebSocket upgrade; a plain GET gets a 400 JSON-RPC error).</summary>
    public static WebApplication MapWebSocketEndpoints(this WebApplication app)
    {
        var endpoint = app.Services.GetRequiredService<WebSocketEndpoint>();
        app.MapGet("/", endpoint.HandleDefaultAsync);
        app.MapGet("/{chain}", endpoint.HandleNamedAsync);
        return app;
    }
}
