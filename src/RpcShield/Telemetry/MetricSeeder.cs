using RpcShield.Features.Broadcast;
using RpcShield.Configuration;
using RpcShield.Routing.Degradation;
using RpcShield.Features.Fanout;
using RpcShield.Routing.Hedging;
using RpcShield.Features.Inclusion;
using RpcShield.JsonRpc;
using RpcShield.Journal;
using RpcShield.Routing;

namespace RpcShield.Telemetry;

/// <summary>
/// Creates every series whose label values are known from the configuration and the bounded
/// label sets, at 0, so dashboards and alert rules (`increase(...) > 0`, `absent(...)`) see a
/// series before the first failure. Run for the first snapshot and again after each reload;
/// series of names that a reload removed stay (Prometheus counters never go away mid-process).
/// The `method` label of client requests is left out: it is filled as methods arrive.
/// </summary>
internal static class MetricSeeder
{
    private static readonly string[] BroadcastOutcomes =
    [
        BroadcastOutcome.Accepted, BroadcastOutcome.Known, BroadcastOutcome.Rejected, BroadcastOutcome.Error,
        BroadcastOutcome.Timeout, BroadcastOutcome.Throttled, BroadcastOutcome.Skipped, BroadcastOutcome.Cancelled,
    ];

    private static readonly string[] BundleOutcomes = [InclusionDecision.Included, InclusionDecision.NotIncluded, InclusionDecision.Lost];

    private static readonly string[] JournalKindValues =
    [
        JournalKinds.FailedAttempt, JournalKinds.Failover, JournalKinds.Hedge, JournalKinds.Broadcast, JournalKinds.Builder,
        JournalKinds.Bundle, JournalKinds.ModeChange, JournalKinds.Chaos, JournalKinds.ConfigReload, JournalKinds.Outcome,
        JournalKinds.BundleStatus,
    ];

    private static readonly string[] ReloadResults = ["success", "failure"];

    public static void Seed(RpcShieldMetrics metrics, ProxyOptions options)
    {
        foreach (var result in ReloadResults)
        {
            metrics.ConfigReloads.WithLabels(result);
        }

        if (!string.IsNullOrEmpty(options.Journal.Path))
        {
            foreach (var kind in JournalKindValues)
            {
                metrics.JournalEntries.WithLabels(kind);
            }
        }

        foreach (var chain in options.Chains)
        {
            SeedChain(metrics, chain);
            foreach (var target in chain.Upstreams.Where(u => u.ShareBudget).Select(u => u.Name).Concat(chain.Builders.Where(b => b.ShareBudget).Select(b => b.Name)))
            {
                metrics.BudgetFallbacks.WithLabels(chain.Name, target);
            }

            foreach (var rule in options.Chaos.Rules.Where(r => r.Chains.Count == 0 || r.Chains.Contains(chain.Name)))
            {
                metrics.ChaosInjections.WithLabels(chain.Name, rule.Name, rule.Fault);
            }
        }
    }

    private static void SeedChain(RpcShieldMetrics metrics, ChainOptions chain)
    {
        var name = chain.Name;
        metrics.WsSubscriptions.WithLabels(name);
        Features.Caching.CacheMetricSeeds.Seed(metrics, name);
        foreach (var result in Enum.GetValues<HedgeResult>())
        {
            metrics.Hedges.WithLabels(name, AdaptiveHedgeDelay.Label(result));
        }

        foreach (var from in Enum.GetValues<ChainMode>())
        {
            foreach (var to in Enum.GetValues<ChainMode>().Where(to => to != from))
            {
                metrics.ModeChanges.WithLabels(name, from.Name(), to.Name());
            }
        }

        foreach (var upstream in chain.Upstreams)
        {
            metrics.WsResubscriptions.WithLabels(name, upstream.Name);
            foreach (var reason in FailoverReason.All)
            {
                metrics.Failovers.WithLabels(name, upstream.Name, reason);
            }

            foreach (var outcome in BroadcastOutcomes)
            {
                metrics.Broadcasts.WithLabels(name, upstream.Name, outcome);
            }
        }

        foreach (var builder in chain.Builders)
        {
            metrics.BuilderDuration.WithLabels(name, builder.Name);
            var methods = builder.Methods.Count > 0 ? builder.Methods : chain.Routing.Fanout;
            foreach (var method in methods.Select(KnownMethods.Label).Distinct(StringComparer.Ordinal))
            {
                foreach (var kind in Enum.GetValues<BuilderOutcomeKind>())
                {
                    metrics.BuilderSubmissions.WithLabels(name, builder.Name, method, BuilderOutcome.LabelOf(kind));
                }
            }
        }

        // Blocks are credited to a configured builder or to `other`.
        foreach (var builder in chain.Builders.Select(b => b.Name).Append(InclusionDecision.OtherBuilder))
        {
            foreach (var outcome in BundleOutcomes)
            {
                metrics.BundleOutcomes.WithLabels(name, builder, outcome);
            }
        }

        // Reasons decided without a block (refused, no builder took it) are credited to `none`.
        foreach (var builder in chain.Builders.Select(b => b.Name).Append(InclusionDecision.OtherBuilder).Append(Features.BundleStatus.BundleReasons.NoBlockBuilder))
        {
            foreach (var reason in Features.BundleStatus.BundleReasons.All)
            {
                metrics.BundleReasons.WithLabels(name, builder, reason);
            }
        }
    }
}
