using Microsoft.Extensions.DependencyInjection;
using RpcShield.JsonRpc;

namespace RpcShield.Heads;

public static class HeadsServiceCollectionExtensions
{
    /// <summary>Real-time heads (newHeads / fast polling), reorg events and the nonce quorum. Call after AddUpstreamRouting.</summary>
    public static IServiceCollection AddHeads(this IServiceCollection services)
    {
        services.AddSingleton<HeadEvents>();
        services.AddSingleton<HeadTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<HeadTracker>());
        services.AddSingleton<IRpcHandler, NonceQuorumHandler>();
        return services;
    }
}
