using Microsoft.Extensions.DependencyInjection;
using RpcShield.JsonRpc;
using RpcShield.Hosting.Status;

namespace RpcShield.Upstreams.Heads;

internal static class HeadsServiceCollectionExtensions
{
    /// <summary>Real-time heads (newHeads / fast polling), reorg events, the nonce quorum and verified reads. Call after AddUpstreamRouting.</summary>
    public static IServiceCollection AddHeads(this IServiceCollection services)
    {
        services.AddSingleton<HeadEvents>();
        services.AddSingleton<HeadTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<HeadTracker>());
        services.AddSingleton<IRpcHandler, NonceQuorumHandler>();
        services.AddSingleton<IRpcHandler, VerifiedReadHandler>();
        services.AddSingleton<IStatusContributor, ConsistencyStatus>();
        return services;
    }
}
