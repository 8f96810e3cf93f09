using Microsoft.Extensions.DependencyInjection.Extensions;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Chaos;

internal static class ChaosServiceCollectionExtensions
{
    /// <summary>Chaos controller, client gate, upstream contributor, builder seam, WebSocket driver (needs AddSubscriptions).</summary>
    public static IServiceCollection AddChaos(this IServiceCollection services)
    {
        services.TryAddSingleton<IChaosRandom, SystemChaosRandom>();
        services.AddSingleton<ChaosController>();
        services.AddSingleton<IChaosController>(sp => sp.GetRequiredService<ChaosController>());
        services.AddSingleton<BuilderChaos>();
        services.AddSingleton<IRpcGate, ClientChaosGate>();
        services.AddSingleton<IUpstreamStrategyContributor, UpstreamChaosContributor>();
        services.AddSingleton<RpcShield.Features.Fanout.IBuilderStrategyContributor, BuilderChaosContributor>();
        services.AddHostedService<WsChaosDriver>();
        services.AddSingleton<IWsDisconnectTarget, SubscriptionHubDisconnectTarget>();
        services.AddSingleton<RpcShield.Hosting.Status.IStatusContributor, ChaosStatusContributor>();
        return services;
    }
}
