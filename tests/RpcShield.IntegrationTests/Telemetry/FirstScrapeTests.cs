using Microsoft.Extensions.DependencyInjection;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>
/// Dashboards and alert rules need a series before the first failure: every metric whose label
/// values are known from the configuration exists at 0 on the first scrape, and again after a
/// reload adds names.
/// </summary>
public sealed class FirstScrapeTests
{
    private static readonly string[] EveryFamilyButPerMethod =
    [
        "rpcshield_upstream_requests_total", "rpcshield_upstream_request_duration_seconds_count", "rpcshield_upstream_up",
        "rpcshield_upstream_score", "rpcshield_upstream_head_block", "rpcshield_upstream_block_lag", "rpcshield_circuit_state",
        "rpcshield_failovers_total", "rpcshield_hedges_total", "rpcshield_broadcasts_total", "rpcshield_builder_submissions_total",
        "rpcshield_builder_duration_seconds_count", "rpcshield_bundle_outcomes_total", "rpcshield_mode", "rpcshield_mode_changes_total",
        "rpcshield_chaos_injections_total", "rpcshield_ws_subscriptions", "rpcshield_ws_resubscriptions_total",
        "rpcshield_journal_entries_total", "rpcshield_journal_dropped_total", "rpcshield_config_reloads_total",
    ];

    [Fact]
    public async Task Every_series_with_known_labels_exists_at_zero_before_any_traffic()
    {
        await using var node = await AnvilNode.StartAsync();
        var journal = Path.Combine(Path.GetTempPath(), $"rpcshield-seed-{Guid.NewGuid():N}.db");
        try
        {
            await using var proxy = await ProxyUnderTest.StartAsync(Config(node.Url, journal, "[a]"));
            var text = await proxy.Client.GetStringAsync("/metrics");

            foreach (var family in EveryFamilyButPerMethod)
            {
                Assert.True(Exposition.Samples(text, family).Count > 0, $"{family} has no series on the first scrape");
            }

            AssertZero(text, "rpcshield_failovers_total", ("chain", "test"), ("upstream", "a"), ("reason", "timeout"));
            AssertZero(text, "rpcshield_failovers_total", ("chain", "test"), ("upstream", "a"), ("reason", "node_error"));
            AssertZero(text, "rpcshield_hedges_total", ("chain", "test"), ("result", "won"));
            AssertZero(text, "rpcshield_broadcasts_total", ("chain", "test"), ("upstream", "a"), ("outcome", "accepted"));
            AssertZero(text, "rpcshield_builder_submissions_total", ("builder", "fb"), ("method", "eth_sendBundle"), ("outcome", "timeout"));
            AssertZero(text, "rpcshield_builder_duration_seconds_count", ("builder", "fb"));
            AssertZero(text, "rpcshield_bundle_outcomes_total", ("builder", "fb"), ("outcome", "included"));
            AssertZero(text, "rpcshield_bundle_outcomes_total", ("builder", "other"), ("outcome", "lost"));
            AssertZero(text, "rpcshield_mode_changes_total", ("chain", "test"), ("from", "full"), ("to", "minimal"));
            AssertZero(text, "rpcshield_chaos_injections_total", ("chain", "test"), ("rule", "spikes"), ("fault", "latency"));
            AssertZero(text, "rpcshield_ws_resubscriptions_total", ("chain", "test"), ("upstream", "a"));
            AssertZero(text, "rpcshield_journal_entries_total", ("kind", "failover"));
            AssertZero(text, "rpcshield_config_reloads_total", ("result", "failure"));
            // The per-method request counters are filled as methods arrive (their label set is open).
            Assert.Empty(Exposition.Samples(text, "rpcshield_requests_total"));
        }
        finally
        {
            File.Delete(journal);
        }
    }

    [Fact]
    public async Task A_reload_that_adds_an_upstream_seeds_its_series()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(node.Url, "", "[a]"));
        Assert.Empty(Exposition.Samples(await proxy.Client.GetStringAsync("/metrics"), "rpcshield_failovers_total", ("upstream", "b")));

        await File.WriteAllTextAsync(proxy.ConfigPath!, Config(node.Url, "", "[a, b]"));
        Assert.Empty(proxy.Services.GetRequiredService<ConfigStore>().Reload());

        var text = await proxy.Client.GetStringAsync("/metrics");
        AssertZero(text, "rpcshield_failovers_total", ("chain", "test"), ("upstream", "b"), ("reason", "transport"));
        Assert.True(Exposition.Sum(text, "rpcshield_config_reloads_total", ("result", "success")) >= 1);
    }

    private static void AssertZero(string text, string name, params (string Key, string Value)[] labels)
    {
        var samples = Exposition.Samples(text, name, labels);
        Assert.True(samples.Count == 1, $"{name}{{{string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}}}: {samples.Count} series");
        Assert.Equal(0, samples[0].Value);
    }

    private static string Config(string nodeUrl, string journal, string upstreamNames)
    {
        var names = upstreamNames.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries);
        return Yaml.Chain(
            names.Select(n => (n, nodeUrl)),
            extraChain: "    builders:\n      - { name: fb, url: \"http://127.0.0.1:9\" }",
            extraTop: "chaos: { enabled: false, rules: [ { name: spikes, scope: client, fault: latency, latency: 1ms, rate: 0.1 } ] }")
            .Replace("journal: { path: \"\" }", $"journal: {{ path: \"{journal}\" }}", StringComparison.Ordinal);
    }
}
