using Microsoft.Extensions.DependencyInjection;
using RpcShield.Features.Inclusion;
using RpcShield.JsonRpc;
using RpcShield.Hosting.Status;

namespace RpcShield.Features.Fanout;

internal static class FanoutServiceCollectionExtensions
{
    /// <summary>Builder fan-out (with signing) and bundle inclusion tracking.</summary>
    public static IServiceCollection AddFanout(this IServiceCollection services)
    {
        services.AddSingleton<BuilderRegistry>();
        services.AddSingleton<BuilderSender>();
        services.AddSingleton<SigningKeySource>();
        services.AddSingleton<InclusionTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<InclusionTracker>());
        services.AddSingleton<ReplacementBook>();
        services.AddSingleton<FanoutHandler>();
        services.AddSingleton<IRpcHandler>(sp => sp.GetRequiredService<FanoutHandler>());
        services.AddSingleton<IRpcHandler, RelayReadHandler>();
        services.AddSingleton<IStatusContributor, BuilderStatusContributor>();
        return services;
    }
}
