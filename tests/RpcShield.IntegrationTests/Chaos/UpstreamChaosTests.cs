using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Chains;
using RpcShield.IntegrationTests.Infrastructure;
using static RpcShield.IntegrationTests.Chaos.ChaosHttp;

namespace RpcShield.IntegrationTests.Chaos;

/// <summary>Upstream-scope faults on one of three real anvil nodes: failover absorbs them; ranking never learns from them.</summary>
public sealed class UpstreamChaosTests
{
    [Fact]
    public async Task Upstream_500s_on_one_of_three_nodes_are_absorbed_and_counted()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        var journal = new RecordingJournal();
        await using var proxy = await ProxyUnderTest.StartAsync(
            PrimaryAndFallbacks(a.Url, b.Url, c.Url, ChaosTop(enabled: false)),
            services: s => s.AddSingleton<RpcShield.Journal.IFailureJournal>(journal));
        await proxy.WaitRoutableAsync(3);

        var top = await TopRankedAsync(proxy);
        Assert.Equal("a", top);
        using (var added = await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/rules", $$"""{"name":"top-500","scope":"upstream","targets":["{{top}}"],"fault":"http_500","rate":1.0,"ttl":"1m"}"""))
        {
            Assert.Equal(201, (int)added.StatusCode);
        }

        // Added but not armed: nothing happens yet.
        var (first, _, _) = await CallAsync(proxy, "eth_getBalance", $"""["{AnvilNode.DevAddress0}","latest"]""");
        Assert.False(first.Headers.Contains("X-RpcShield-Chaos"));
        (await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/arm")).Dispose();

        var failures = new List<string>();
        var servedBy = new Dictionary<string, int>();
        var annotated = 0;
        for (var i = 0; i < 60; i++)
        {
            var (response, body, _) = await CallAsync(proxy, "eth_getBalance", $"""["{AnvilNode.DevAddress0}","latest"]""");
            if ((int)response.StatusCode != 200 || body.TryGetProperty("error", out _))
            {
                failures.Add(body.GetRawText());
            }

            var upstream = response.Headers.GetValues("X-RpcShield-Upstream").Single();
            servedBy[upstream] = servedBy.GetValueOrDefault(upstream) + 1;
            annotated += response.Headers.Contains("X-RpcShield-Chaos") ? 1 : 0;
        }

        Assert.Empty(failures);
        Assert.False(servedBy.ContainsKey(top), $"{top} served despite failing every attempt");
        var injections = await InjectionsAsync(proxy, "top-500");
        Assert.True(injections > 0, "no injection counted");
        Assert.Equal(injections, annotated);

        // Journaled as chaos, never as the upstream's own failed attempts (the failure report stays organic).
        Assert.Equal(injections, journal.Entries.Count(e => e is { Kind: "chaos", Upstream: not null } && e.Upstream == top && e.Reason == "http_500"));
        Assert.DoesNotContain(journal.Entries, e => e.Kind == "failed_attempt" && e.Upstream == top);

        // Injected failures never reach the organic statistics used for ranking or health.
        var chains = proxy.Services.GetRequiredService<ChainRegistry>();
        var target = chains.Default.Upstreams.Single(u => u.Name == top);
        Assert.Equal(0, target.Errors.Totals().Failed);
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        var view = status.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray().Single(u => u.GetProperty("name").GetString() == top);
        Assert.Equal("healthy", view.GetProperty("health").GetString());
        var chaosStatus = status.GetProperty("chains")[0].GetProperty("chaos");
        Assert.True(chaosStatus.GetProperty("armed").GetBoolean());
        Assert.Equal("top-500", chaosStatus.GetProperty("rules")[0].GetString());

        // Halt stops all injection at once.
        (await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/halt")).Dispose();
        var before = await InjectionsAsync(proxy, "top-500");
        for (var i = 0; i < 20; i++)
        {
            var (response, body, _) = await CallAsync(proxy, "eth_getBalance", $"""["{AnvilNode.DevAddress0}","latest"]""");
            Assert.False(response.Headers.Contains("X-RpcShield-Chaos"));
            Assert.True(body.TryGetProperty("result", out _));
        }

        Assert.Equal(before, await InjectionsAsync(proxy, "top-500"));
        var state = await (await AdminAsync(proxy, HttpMethod.Get, "/admin/chaos")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(state.GetProperty("halted").GetBoolean());
        Assert.False(state.GetProperty("armed").GetBoolean());
    }
}
