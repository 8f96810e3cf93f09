using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Features.Outcomes;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

internal static class JournalServiceCollectionExtensions
{
    /// <summary>
    /// The failure journal (SQLite at `journal.path`, or the PostgreSQL database of `journal.postgres`),
    /// learned priors, and outcome reports (`rpcshield_reportOutcome`; `POST /v1/outcomes` is mapped by
    /// <see cref="OutcomeEndpoints"/>). <paramref name="listenPort"/> names the instance by default.
    /// </summary>
    public static IServiceCollection AddFailureJournal(this IServiceCollection services, ProxyOptions options, int? listenPort = null)
    {
        services.AddSingleton<IRpcHandler, OutcomeRpcHandler>();
        var postgres = !string.IsNullOrWhiteSpace(options.Journal.Postgres);
        if (!postgres && string.IsNullOrWhiteSpace(options.Journal.Path))
        {
            return services;
        }

        // Checked now, before the host exists: a corrupt or locked file, or a database that refuses us, stops the start with one clear line.
        IJournalStore database = postgres ? new PostgresJournalDatabase(options.Journal.Postgres!) : new JournalDatabase(options.Journal.Path);
        var instance = InstanceName(options, listenPort);
        try
        {
            database.Initialize();
        }
        catch (JournalUnavailableException ex) when (!ex.RefusesStart)
        {
            // A full or failing disk, an unreachable database: the writer starts with the journal down and retries; RPC serves regardless.
        }

        services.AddSingleton(database);
        if (database is JournalDatabase file)
        {
            services.AddSingleton(file);
        }

        services.AddSingleton(sp => new SqliteFailureJournal(options.Journal.QueueCapacity, sp.GetRequiredService<RpcShieldMetrics>(), sp.GetRequiredService<Hosting.Security.SecretScrubber>()));
        services.AddSingleton<IFailureJournal>(sp => sp.GetRequiredService<SqliteFailureJournal>());
        services.AddSingleton<LearnedState>();
        services.AddSingleton(sp => new JournalWriter(
            sp.GetRequiredService<SqliteFailureJournal>(),
            sp.GetRequiredService<IJournalStore>(),
            sp.GetRequiredService<ConfigStore>(),
            sp.GetRequiredService<LearnedState>(),
            sp.GetRequiredService<RpcShieldMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<JournalWriter>>(),
            sp.GetRequiredService<LogLimiter>(),
            instance));
        services.AddHostedService(sp => sp.GetRequiredService<JournalWriter>());
        return services;
    }

    /// <summary>`journal.instance`, else host name and listen port (`bot-1:8545`): what a fleet's rows are told apart by.</summary>
    public static string InstanceName(ProxyOptions options, int? listenPort)
    {
        if (!string.IsNullOrWhiteSpace(options.Journal.Instance))
        {
            return options.Journal.Instance;
        }

        var port = listenPort ?? (Uri.TryCreate(options.Server.Listen, UriKind.Absolute, out var listen) ? listen.Port : 0);
        return $"{Environment.MachineName}:{port}";
    }
}
