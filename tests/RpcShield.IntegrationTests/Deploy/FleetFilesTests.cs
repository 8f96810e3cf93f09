using System.Text.Json;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Telemetry;
using YamlDotNet.RepresentationModel;

namespace RpcShield.IntegrationTests.Deploy;

/// <summary>
/// The fleet compose file and the Kubernetes sidecar manifests hold together: every proxy.yaml in them loads with
/// RpcShield's own config loader (so they name only keys that exist), and every name one file refers to (Secret,
/// ConfigMap, ports, mounted files, scrape targets) is defined by another. There is no Docker or Kubernetes here;
/// this is what can be checked without them (docs/fleet.md).
/// </summary>
public sealed class FleetFilesTests
{
    private static readonly string Root = Path.Combine(Tools.RepositoryRoot, "deploy");

    [Fact]
    public void The_fleet_proxy_yaml_loads_for_each_compose_instance()
    {
        var compose = LoadYaml(Path.Combine(Root, "fleet", "docker-compose.yml"));
        var services = (YamlMappingNode)compose["services"];
        var instances = services.Children.Where(s => ((YamlScalarNode)s.Key).Value!.StartsWith("rpcshield-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, instances.Count);

        var yaml = File.ReadAllText(Path.Combine(Root, "fleet", "proxy.yaml"));
        var metricsPorts = new List<string>();
        foreach (var (_, service) in instances)
        {
            var environment = ((YamlMappingNode)((YamlMappingNode)service)["environment"]).Children
                .ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value!);
            environment["RPCSHIELD_JOURNAL_PG"] = "Host=127.0.0.1;Port=5432;Username=rpcshield;Password=pw;Database=rpcshield";
            environment["ALCHEMY_KEY"] = "test-key";
            environment["FLASHBOTS_SIGNING_KEY"] = "0x" + new string('1', 64);

            var options = AssertLoads(yaml, environment);
            Assert.Equal(environment["RPCSHIELD_INSTANCE"], options.Journal.Instance);
            Assert.False(string.IsNullOrEmpty(options.Journal.Postgres));
            Assert.Contains(options.Chains[0].Upstreams, u => u.ShareBudget && u.MaxRps > 0);
            metricsPorts.Add(environment["RPCSHIELD_METRICS_PORT"]);
        }

        // Prometheus scrapes exactly the metrics ports the instances open.
        var prometheus = File.ReadAllText(Path.Combine(Root, "fleet", "prometheus.yml"));
        Assert.All(metricsPorts, port => Assert.Contains($"127.0.0.1:{port}", prometheus, StringComparison.Ordinal));
    }

    [Fact]
    public void The_fleet_compose_file_mounts_only_files_that_exist()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "fleet", "docker-compose.yml"));
        var fleet = Path.Combine(Root, "fleet");
        foreach (var relative in (string[])["./proxy.yaml", "./prometheus.yml", "../alerts.yml", "../grafana/provisioning", "../grafana/dashboards"])
        {
            Assert.Contains(relative + ":", compose, StringComparison.Ordinal);
            Assert.True(Path.Exists(Path.Combine(fleet, relative)), relative);
        }

        Assert.Contains("dockerfile: deploy/Dockerfile", compose, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Tools.RepositoryRoot, "deploy", "Dockerfile")));
        foreach (var service in (string[])["postgres:", "redis:", "prometheus:", "grafana:"])
        {
            Assert.Contains("  " + service, compose, StringComparison.Ordinal);
        }
    }

    [RequiresToolFact("promtool")]
    public async Task The_fleet_prometheus_config_passes_promtool()
    {
        // Compose mounts deploy/alerts.yml beside it; promtool resolves rule files relative to the config.
        var folder = Directory.CreateTempSubdirectory("rpcshield-fleet-");
        try
        {
            File.Copy(Path.Combine(Root, "fleet", "prometheus.yml"), Path.Combine(folder.FullName, "prometheus.yml"));
            File.Copy(Path.Combine(Root, "alerts.yml"), Path.Combine(folder.FullName, "alerts.yml"));
            var output = await DeployFilesTests.PromtoolAsync("check", "config", Path.Combine(folder.FullName, "prometheus.yml"));
            Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_sidecar_manifests_fit_together()
    {
        var k8s = Path.Combine(Root, "k8s");
        var kustomization = LoadYaml(Path.Combine(k8s, "kustomization.yaml"));
        var resources = ((YamlSequenceNode)kustomization["resources"]).Select(r => ((YamlScalarNode)r).Value!).ToList();
        Assert.Equal(5, resources.Count);
        var documents = resources.ToDictionary(r => r, r => LoadYaml(Path.Combine(k8s, r)));
        Assert.All(documents.Values, d => Assert.NotNull(Scalar(d, "apiVersion")));

        var secret = documents["secret.yaml"];
        var configMap = documents["configmap.yaml"];
        var deployment = documents["deployment.yaml"];
        var podSpec = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)deployment["spec"])["template"])["spec"];
        var sidecar = ((YamlSequenceNode)podSpec["containers"]).Cast<YamlMappingNode>().Single(c => Scalar(c, "name") == "rpcshield");

        // The Secret and ConfigMap the pod refers to are the ones shipped.
        var secretName = Scalar((YamlMappingNode)secret["metadata"], "name");
        Assert.Contains(((YamlSequenceNode)sidecar["envFrom"]).Cast<YamlMappingNode>(), e => Scalar((YamlMappingNode)e["secretRef"], "name") == secretName);
        var configMapName = Scalar((YamlMappingNode)configMap["metadata"], "name");
        Assert.Contains(((YamlSequenceNode)podSpec["volumes"]).Cast<YamlMappingNode>(),
            v => v.Children.ContainsKey("configMap") && Scalar((YamlMappingNode)v["configMap"], "name") == configMapName);

        // The ConfigMap's proxy.yaml loads with the Secret's values and the pod name the Deployment injects.
        var environment = ((YamlMappingNode)secret["stringData"]).Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value!);
        Assert.Contains(((YamlSequenceNode)sidecar["env"]).Cast<YamlMappingNode>(), e => Scalar(e, "name") == "POD_NAME");
        environment["POD_NAME"] = "searcher-bot-7d9f-abcde";
        var options = AssertLoads(Scalar((YamlMappingNode)configMap["data"], "proxy.yaml")!, environment);
        Assert.Equal("searcher-bot-7d9f-abcde", options.Journal.Instance);

        // JSON-RPC stays on the pod's loopback; the scrape port is the one metrics_listen opens, and the
        // Service and ServiceMonitor point at it by name.
        Assert.True(ConfigValidator.IsLoopback(new Uri(options.Server.Listen).Host));
        var metricsPort = new Uri(options.Server.MetricsListen!).Port;
        var containerPort = ((YamlSequenceNode)sidecar["ports"]).Cast<YamlMappingNode>().Single(p => Scalar(p, "name") == "metrics");
        Assert.Equal(metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(containerPort, "containerPort"));
        var servicePorts = (YamlSequenceNode)((YamlMappingNode)documents["service.yaml"]["spec"])["ports"];
        Assert.Contains(servicePorts.Cast<YamlMappingNode>(), p => Scalar(p, "targetPort") == "metrics");
        var endpoints = (YamlSequenceNode)((YamlMappingNode)documents["servicemonitor.yaml"]["spec"])["endpoints"];
        Assert.All(endpoints.Cast<YamlMappingNode>(), e => Assert.Equal("metrics", Scalar(e, "port")));
        Assert.All(new[] { "/readyz", "/healthz" }, path => Assert.Contains(path, File.ReadAllText(Path.Combine(k8s, "deployment.yaml")), StringComparison.Ordinal));
    }

    [Fact]
    public void The_dashboard_filters_every_query_by_instance()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "grafana", "dashboards", "rpcshield.json")));
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Contains("instance", variables);
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .ToList();
        Assert.NotEmpty(expressions);
        var unfiltered = expressions.Where(e => !e.Contains("instance=~\"$instance\"", StringComparison.Ordinal)).ToList();
        Assert.True(unfiltered.Count == 0, "queries without the instance filter: " + string.Join(" | ", unfiltered));
    }

    private static ProxyOptions AssertLoads(string yaml, IReadOnlyDictionary<string, string> environment)
    {
        var result = ConfigLoader.LoadText(yaml, name => environment.TryGetValue(name, out var value) ? value : null);
        Assert.True(result.IsValid, string.Join("; ", result.Errors.Select(e => $"{e.Path}: {e.Message}")));
        return result.Options!;
    }

    private static YamlMappingNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;
}
