using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RpcShield.Upstreams.Breakers;
using RpcShield.Features.Broadcast;
using RpcShield.Upstreams.Budgets;
using RpcShield.Routing.Degradation;
using RpcShield.Upstreams.Heads;
using RpcShield.Routing.Hedging;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Resilience;

internal static class ResilienceServiceCollectionExtensions
{
    /// <summary>
    /// Hedging (adaptive delay), per-upstream circuit breakers and rate budgets, transaction
    /// broadcast, monotonic head and graceful degradation. Call after AddUpstreamRouting.
    /// </summary>
    public static IServiceCollection AddResilience(this IServiceCollection services)
    {
        services.AddSingleton<MethodLatencyBook>();
        services.Replace(ServiceDescriptor.Singleton<IHedgeDelayPolicy, AdaptiveHedgeDelay>());

        services.AddSingleton<CircuitBreakerContributor>();
        services.AddSingleton<IUpstreamStrategyContributor>(sp => sp.GetRequiredService<CircuitBreakerContributor>());
        services.AddSingleton<SharedBudgets>();
        services.AddSingleton<RateBudgetGuard>();
        services.AddSingleton<IAttemptGuard>(sp => sp.GetRequiredService<RateBudgetGuard>());
        services.AddSingleton<IStatusContributor, ResilienceStatus>();

        services.AddSingleton<IRpcHandler, BroadcastHandler>();
        services.AddSingleton<MonotonicHeadFilter>();
        services.AddSingleton<IRpcResultFilter>(sp => sp.GetRequiredService<MonotonicHeadFilter>());

        services.AddSingleton<DegradationController>();
        services.AddHostedService(sp => sp.GetRequiredService<DegradationController>());
        services.Replace(ServiceDescriptor.Singleton<IChainModeSource>(sp => sp.GetRequiredService<DegradationController>()));
        services.AddSingleton<IStatusContributor>(sp => sp.GetRequiredService<DegradationController>());
        services.AddSingleton<IRpcGate, ModeGate>();
        return services;
    }
}
