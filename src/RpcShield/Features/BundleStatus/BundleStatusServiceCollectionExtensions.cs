using Microsoft.Extensions.DependencyInjection;
using RpcShield.Journal;
using RpcShield.JsonRpc;

namespace RpcShield.Features.BundleStatus;

internal static class BundleStatusServiceCollectionExtensions
{
    /// <summary>`rpcshield_getBundleStatus`: the status book, the judge (reasons), and the restore from the journal.</summary>
    public static IServiceCollection AddBundleStatus(this IServiceCollection services)
    {
        services.AddSingleton<BundleStatusBook>();
        services.AddSingleton<BundleSimulator>();
        services.AddSingleton<BundleJudge>();
        services.AddHostedService(sp => sp.GetRequiredService<BundleJudge>());
        services.AddSingleton<IRpcHandler, BundleStatusRpcHandler>();
        services.AddHostedService(sp => new BundleStatusRestorer(sp.GetRequiredService<BundleStatusBook>(), sp.GetRequiredService<Inclusion.InclusionTracker>(),
            sp.GetService<JournalDatabase>(), sp.GetRequiredService<ILogger<BundleStatusRestorer>>()));
        return services;
    }
}
