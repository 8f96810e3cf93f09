using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>A real Prometheus server scrapes RpcShield; its query API sees rpcshield_requests_total.</summary>
public sealed class PrometheusScrapeTests
{
    [RequiresToolFact("prometheus")]
    public async Task A_real_prometheus_scrapes_rpcshield_and_answers_queries()
    {
        var binary = RequiresToolFactAttribute.Find("prometheus")!;

        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)]));
        for (var i = 0; i < 3; i++)
        {
            using var response = await MetricsExpositionTests.PostAsync(proxy, "eth_chainId");
            response.EnsureSuccessStatusCode();
        }

        var dir = Directory.CreateTempSubdirectory("rpcshield-prometheus-");
        var port = MetricsExpositionTests.DeadPort();
        var config = Path.Combine(dir.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $$"""
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            scrape_configs:
              - job_name: rpcshield
                scrape_interval: 1s
                metrics_path: /metrics
                static_configs:
                  - targets: ["127.0.0.1:{{proxy.BaseAddress.Port}}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir.FullName, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var log = new System.Text.StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(45);
            double value = 0;
            string last = "";
            while (DateTime.UtcNow < deadline && !prometheus.HasExited)
            {
                try
                {
                    var json = await client.GetFromJsonAsync<JsonElement>("/api/v1/query?query=sum(rpcshield_requests_total)");
                    last = json.ToString();
                    var result = json.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() > 0)
                    {
                        value = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                        if (value > 0)
                        {
                            break;
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(250);
            }

            Assert.True(value >= 3, $"rpcshield_requests_total via Prometheus = {value}; last answer: {last}; prometheus log: {log}");
            var up = await client.GetFromJsonAsync<JsonElement>("/api/v1/query?query=up{job=\"rpcshield\"}");
            Assert.Equal("1", up.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());
        }
        finally
        {
            if (!prometheus.HasExited)
            {
                prometheus.Kill();
                await prometheus.WaitForExitAsync();
            }

            dir.Delete(recursive: true);
        }
    }
}

/// <summary>A fact skipped, with a message saying so, only when a tool is not installed (xunit 2 has no dynamic skip).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresToolFactAttribute : FactAttribute
{
    public RequiresToolFactAttribute(string tool)
    {
        Tool = tool;
        if (Find(tool) is null)
        {
            Skip = $"{tool} is not installed (Debian package prometheus; .ci/run installs it)";
        }
    }

    public string Tool { get; }

    internal static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}
