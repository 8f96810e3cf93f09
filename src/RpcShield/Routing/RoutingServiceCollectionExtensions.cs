using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RpcShield.Chains;
using RpcShield.Upstreams.Health;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Routing;

internal static class RoutingServiceCollectionExtensions
{
    /// <summary>Chains, upstreams, health monitoring, ranking and the read forwarder.</summary>
    public static IServiceCollection AddUpstreamRouting(this IServiceCollection services)
    {
        services.AddSingleton<ChainRegistry>();
        services.AddSingleton<UpstreamSender>();
        services.TryAddSingleton<IHedgeDelayPolicy, NoHedging>();
        services.TryAddSingleton<IChainModeSource, AlwaysFullMode>();
        services.AddSingleton<ReadForwarder>();
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        services.AddSingleton<RpcDispatcher>();
        services.AddSingleton<RpcProcessor>();
        services.AddSingleton<JsonRpcEndpoint>();
        return services;
    }

    /// <summary>Mode source used when graceful degradation is not registered.</summary>
    private sealed class AlwaysFullMode : IChainModeSource
    {
        public string ModeOf(string chain) => "full";
    }
}
