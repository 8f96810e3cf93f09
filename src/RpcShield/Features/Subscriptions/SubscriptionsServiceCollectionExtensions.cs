using Microsoft.AspNetCore.Builder;
using RpcShield.JsonRpc;
using RpcShield.Hosting.Status;

namespace RpcShield.Features.Subscriptions;

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
        // Without this Kestrel waits for every idle client socket until the shutdown timeout.
        var hub = app.Services.GetRequiredService<SubscriptionHub>();
        app.Lifetime.ApplicationStopping.Register(() => _ = hub.GoAwayAsync(SubscriptionHub.StoppingGrace));
        return app;
    }
}
