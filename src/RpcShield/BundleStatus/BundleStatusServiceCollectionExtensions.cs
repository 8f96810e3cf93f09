using Microsoft.Extensions.DependencyInjection;
using RpcShield.Journal;
using RpcShield.JsonRpc;

namespace RpcShield.BundleStatus;

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
        services.AddHostedService(sp => sp.GetService<JournalDatabase>() is { } database
            ? new BundleStatusRestorer(sp.GetRequiredService<BundleStatusBook>(), sp.GetRequiredService<Inclusion.InclusionTracker>(), database, sp.GetRequiredService<ILogger<BundleStatusRestorer>>())
            : (Microsoft.Extensions.Hosting.IHostedService)new NoRestore());
        return services;
    }

    /// <summary>No journal configured: nothing to restore.</summary>
    private sealed class NoRestore : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
