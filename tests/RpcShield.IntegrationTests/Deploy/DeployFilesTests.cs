using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Prometheus;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Telemetry;
using RpcShield.Telemetry;

namespace RpcShield.IntegrationTests.Deploy;

/// <summary>The shipped deploy/ files are valid for the real tools and only query metrics RpcShield declares.</summary>
public sealed partial class DeployFilesTests
{
    private static string Deploy(string file) => Path.Combine(Tools.RepositoryRoot, "deploy", file);

    [RequiresToolFact("promtool")]
    public async Task Prometheus_config_passes_promtool_check_config() =>
        await PromtoolAsync("check", "config", Deploy("prometheus.yml"));

    [RequiresToolFact("promtool")]
    public async Task Alert_rules_pass_promtool_check_rules_and_cover_the_required_alerts()
    {
        var output = await PromtoolAsync("check", "rules", Deploy("alerts.yml"));
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
        var rules = await File.ReadAllTextAsync(Deploy("alerts.yml"));
        Assert.Contains("rpcshield_mode) == 2", rules, StringComparison.Ordinal);
        Assert.Contains("rpcshield_builder_submissions_total", rules, StringComparison.Ordinal);
        Assert.Matches(@"rpcshield_upstream_up == 0\s+for: 5m", rules);
    }

    [Fact]
    public void Every_metric_the_dashboard_queries_is_declared()
    {
        var declared = DeclaredMetrics();
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Tools.RepositoryRoot, "deploy", "grafana", "dashboards", "rpcshield.json")));
        var expressions = new List<string>();
        Collect(dashboard.RootElement, expressions);
        Assert.True(expressions.Count >= 20, $"only {expressions.Count} queries");
        var queried = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value))
            .Select(n => Regex.Replace(n, "_(bucket|sum|count)$", ""))
            .ToHashSet();
        Assert.Empty(queried.Except(declared));
        // Requests and errors by method, upstream health, failovers, hedges, builders, mode and chaos are all on it.
        foreach (var required in (string[])["rpcshield_requests_total", "rpcshield_upstream_up", "rpcshield_upstream_score", "rpcshield_upstream_request_duration_seconds",
                     "rpcshield_upstream_block_lag", "rpcshield_failovers_total", "rpcshield_hedges_total", "rpcshield_builder_submissions_total",
                     "rpcshield_bundle_outcomes_total", "rpcshield_mode", "rpcshield_chaos_injections_total"])
        {
            Assert.Contains(required, queried);
        }
    }

    [Fact]
    public void The_metric_reference_documents_every_declared_metric()
    {
        var doc = File.ReadAllText(Path.Combine(Tools.RepositoryRoot, "docs", "telemetry.md"));
        var undocumented = DeclaredMetrics().Where(m => !doc.Contains($"`{m}`", StringComparison.Ordinal)).ToList();
        Assert.True(undocumented.Count == 0, "not in docs/telemetry.md: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void Compose_and_systemd_files_reference_what_exists()
    {
        var compose = File.ReadAllText(Deploy("docker-compose.yml"));
        foreach (var path in (string[])["./prometheus.yml", "./alerts.yml", "./grafana/provisioning", "./grafana/dashboards", "deploy/Dockerfile"])
        {
            Assert.Contains(path, compose, StringComparison.Ordinal);
        }

        Assert.True(File.Exists(Deploy("Dockerfile")));
        var unit = File.ReadAllText(Deploy(Path.Combine("systemd", "rpcshield.service")));
        Assert.Contains("NoNewPrivileges=yes", unit, StringComparison.Ordinal);
        Assert.Contains("ProtectSystem=strict", unit, StringComparison.Ordinal);
        Assert.DoesNotContain("MemoryDenyWriteExecute=yes", unit, StringComparison.Ordinal);
    }

    /// <summary>Names of every metric RpcShieldMetrics declares (read from the collectors themselves).</summary>
    private static HashSet<string> DeclaredMetrics()
    {
        var metrics = new RpcShieldMetrics(Metrics.NewCustomRegistry());
        return typeof(RpcShieldMetrics).GetProperties()
            .Where(p => typeof(Collector).IsAssignableFrom(p.PropertyType))
            .Select(p => ((Collector)p.GetValue(metrics)!).Name)
            .ToHashSet();
    }

    private static void Collect(JsonElement element, List<string> expressions)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        expressions.Add(property.Value.GetString()!);
                    }
                    else
                    {
                        Collect(property.Value, expressions);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, expressions);
                }

                break;
        }
    }

    internal static async Task<string> PromtoolAsync(params string[] args)
    {
        var start = new ProcessStartInfo(RequiresToolFactAttribute.Find("promtool")!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"promtool {string.Join(' ', args)} exited {process.ExitCode}: {output}");
        return output;
    }

    [GeneratedRegex("rpcshield_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
