using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Chaos;
using RpcShield.Chaos.Experiments;
using RpcShield.IntegrationTests.Infrastructure;
using static RpcShield.IntegrationTests.Chaos.ChaosHttp;

namespace RpcShield.IntegrationTests.Chaos;

/// <summary>Game days against a real proxy over three real anvil nodes (phases of a second or two).</summary>
public sealed class ExperimentTests
{
    private static ExperimentOptions Experiment(ProxyUnderTest proxy, string faults, string hypothesis = "{ success_rate: 0.999 }", string abort = "")
    {
        var yaml = $$"""
            name: test
            target: {{proxy.BaseAddress}}
            admin_token: ${TOKEN}
            probe: { methods: [eth_blockNumber, eth_chainId], rate: 40, concurrency: 2, timeout: 2s }
            hypothesis: {{hypothesis}}
            blast_radius: { chains: [test] }
            phases: { baseline: 1s, chaos: 2s, recovery: 1s }
            faults:
              {{faults}}
            {{abort}}
            """;
        var options = ExperimentLoader.Load(yaml, n => n == "TOKEN" ? AdminToken : null, out var errors);
        Assert.Empty(errors);
        return options;
    }

    private static async Task<ExperimentReport> RunAsync(ExperimentOptions options)
    {
        using var runner = new ExperimentRunner(options, TimeProvider.System, TextWriter.Null);
        var report = await runner.RunAsync(CancellationToken.None);
        // The JSON form round-trips (the CLI writes it with --report F.json).
        using var json = JsonDocument.Parse(ChaosCommand.ToJson(report));
        Assert.Equal(report.Verdict, json.RootElement.GetProperty("verdict").GetString());
        Assert.Contains(report.Verdict.ToUpperInvariant(), report.ToText(), StringComparison.Ordinal);
        return report;
    }

    [Fact]
    public async Task Experiments_pass_fail_with_abort_and_are_inconclusive_without_injection()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(PrimaryAndFallbacks(a.Url, b.Url, c.Url, ChaosTop(enabled: false, allowHeader: false)));
        await proxy.WaitRoutableAsync(3);
        var chaos = proxy.Services.GetRequiredService<IChaosController>();

        // 1. Upstream-scope 500s on the primary (always tried first): failover absorbs them -> pass.
        var top = "a";
        var pass = await RunAsync(Experiment(proxy, $"- {{ name: top-500, scope: upstream, targets: [{top}], fault: http_500, rate: 1.0 }}"));
        Assert.True(pass.Verdict == "pass", string.Join("; ", pass.Reasons) + "\n" + pass.ToText());
        Assert.True(pass.InjectionsByRule["top-500"] > 0);
        Assert.Equal(["baseline", "chaos", "recovery"], pass.Phases.Select(p => p.Phase));
        var chaosPhase = pass.Phases.Single(p => p.Phase == "chaos");
        Assert.Equal(0, chaosPhase.Failures);
        Assert.False(chaosPhase.ServedBy.ContainsKey(top), pass.ToText());
        Assert.NotNull(pass.TimeToRecoverSeconds);
        Assert.Empty(chaos.Rules);
        Assert.False(chaos.IsArmed);

        // 2. Client-scope 500s make "99.9 % success" impossible: abort at once -> fail.
        var fail = await RunAsync(Experiment(
            proxy,
            "- { name: client-500, scope: client, fault: http_500, rate: 1.0 }",
            abort: "abort: { success_rate: 0.5, window: 1s, min_samples: 3 }"));
        Assert.Equal("fail", fail.Verdict);
        Assert.True(fail.Aborted);
        Assert.True(fail.AbortedAfterSeconds < 2, $"aborted after {fail.AbortedAfterSeconds}s");
        Assert.True(fail.InjectionsByRule["client-500"] > 0);
        Assert.Empty(chaos.Rules);
        Assert.False(chaos.IsArmed);
        Assert.False(chaos.IsHalted);

        // 3. Rate 0: nothing is injected -> inconclusive.
        var none = await RunAsync(Experiment(proxy, "- { name: zero, scope: upstream, fault: http_500, rate: 0 }"));
        Assert.Equal("inconclusive", none.Verdict);
        Assert.Equal(0, none.TotalInjections);
    }

    [Fact]
    public async Task A_baseline_that_breaks_the_hypothesis_fails_without_injecting()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], extraTop: ChaosTop(enabled: false, allowHeader: false)));
        await proxy.WaitRoutableAsync(1);

        var options = Experiment(proxy, "- { name: never, scope: client, fault: http_500, rate: 1.0 }", hypothesis: "{ success_rate: 0.999, p99: 0.001ms }");
        options.Phases.Baseline = TimeSpan.FromMilliseconds(500);
        var report = await RunAsync(options);
        Assert.Equal("fail", report.Verdict);
        Assert.True(report.Aborted);
        Assert.Equal(0, report.TotalInjections);
        Assert.DoesNotContain(report.Phases, p => p.Phase == "chaos");
    }
}
