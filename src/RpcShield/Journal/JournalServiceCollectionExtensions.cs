using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Outcomes;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

internal static class JournalServiceCollectionExtensions
{
    /// <summary>
    /// The SQLite failure journal (when `journal.path` is set), learned priors, and outcome reports
    /// (`rpcshield_reportOutcome`; `POST /v1/outcomes` is mapped by <see cref="OutcomeEndpoints"/>).
    /// </summary>
    public static IServiceCollection AddFailureJournal(this IServiceCollection services, ProxyOptions options)
    {
        services.AddSingleton<IRpcHandler, OutcomeRpcHandler>();
        if (string.IsNullOrWhiteSpace(options.Journal.Path))
        {
            return services;
        }

        // Checked now, before the host exists: a corrupt or locked file stops the start with one clear line.
        var database = new JournalDatabase(options.Journal.Path);
        try
        {
            database.Initialize();
        }
        catch (JournalUnavailableException ex) when (!ex.RefusesStart)
        {
            // A full or failing disk: the writer starts with the journal down and retries; RPC serves regardless.
        }

        services.AddSingleton(database);
        services.AddSingleton(sp => new SqliteFailureJournal(options.Journal.QueueCapacity, sp.GetRequiredService<RpcShieldMetrics>(), sp.GetRequiredService<Security.SecretScrubber>()));
        services.AddSingleton<IFailureJournal>(sp => sp.GetRequiredService<SqliteFailureJournal>());
        services.AddSingleton<LearnedState>();
        services.AddSingleton(sp => new JournalWriter(
            sp.GetRequiredService<SqliteFailureJournal>(),
            sp.GetRequiredService<JournalDatabase>(),
            sp.GetRequiredService<ConfigStore>(),
            sp.GetRequiredService<LearnedState>(),
            sp.GetRequiredService<RpcShieldMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<JournalWriter>>(),
            sp.GetRequiredService<LogLimiter>()));
        services.AddHostedService(sp => sp.GetRequiredService<JournalWriter>());
        return services;
    }
}
