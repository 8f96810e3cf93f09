using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Configuration;

/// <summary>Reloads that swap every upstream of a chain move traffic to upstreams already probed: no request fails.</summary>
public sealed class MakeBeforeBreakReloadTests
{
    /// <summary>One chain over <paramref name="first"/> and, when given, <paramref name="second"/>; upstream names carry the generation.</summary>
    private static string Config(int generation, string first, string? second) => $$"""
        server: { listen: http://127.0.0.1:0 }
        journal: { path: "" }
        chains:
          - name: test
            chain_id: 31337
            upstreams:
              - { name: g{{generation}}x, url: "{{first}}" }
        {{(second is null ? "" : $"      - {{ name: g{generation}y, url: \"{second}\" }}")}}
            routing:
              health: { interval: 200ms, timeout: 3s, fail_after: 2, recover_after: 2 }
              timeouts: { default: 10s, per_attempt: 2s }
        """;

    [Theory]
    [InlineData(1)] // the chain's only upstream is swapped for another
    [InlineData(2)]
    public async Task Twenty_reloads_each_swapping_every_upstream_under_continuous_load_fail_no_request(int upstreams)
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(0, a.Url, upstreams == 2 ? b.Url : null));
        await proxy.WaitRoutableAsync(upstreams);

        var load = SteadyLoad.Start(proxy.Client, static (worker, i) => i % 2 == 0
            ? $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_getBalance","params":["{{AnvilNode.DevAddress0}}","latest"]}"""
            : $$"""{"jsonrpc":"2.0","id":"w{{worker}}","method":"eth_blockNumber","params":[]}""", workers: 4);

        for (var generation = 1; generation <= 20; generation++)
        {
            // Every upstream is new each time (new names), and the two nodes change places.
            var (first, second) = generation % 2 == 0 ? (a.Url, b.Url) : (b.Url, a.Url);
            await RewriteAsync(proxy.ConfigPath!, Config(generation, first, upstreams == 2 ? second : null));
            await WaitForUpstreamAsync(proxy, $"g{generation}x");
            await Task.Delay(50);
        }

        await Task.Delay(300);
        await load.StopAsync();

        Assert.True(load.Sent > 100, $"only {load.Sent} requests were sent");
        Assert.True(load.Failures.Count == 0, $"{load.Failures.Count} of {load.Sent} failed, first: {load.Failures.FirstOrDefault()}");
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(upstreams == 2 ? ["g20x", "g20y"] : ["g20x"], status.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray().Select(u => u.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task A_reload_that_leaves_a_chain_with_nothing_healthy_is_applied_with_a_warning()
    {
        await using var a = await AnvilNode.StartAsync();
        var logs = new LogCapture();
        await using var proxy = await ProxyUnderTest.StartAsync(
            Config(0, a.Url, a.Url + "/"),
            services: s => s.AddSingleton<ILoggerProvider>(logs));
        await proxy.WaitRoutableAsync(2);

        // Port 9 (discard) on loopback: nothing listens, the probe is refused at once.
        await RewriteAsync(proxy.ConfigPath!, Config(1, "http://127.0.0.1:9", "http://127.0.0.1:9/"));
        await WaitForUpstreamAsync(proxy, "g1x");

        await Rpc.WaitUntilAsync(() => Task.FromResult(logs.Lines.Any(l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Chain test: configuration applied with no healthy upstream", StringComparison.Ordinal))), "the warning");
        var reply = await Rpc.BalanceAsync(proxy);
        Assert.Equal(-32090, reply.ErrorCode);
    }

    /// <summary>Replaces the file in one step (a rename), so the watcher never reads half of it.</summary>
    private static async Task RewriteAsync(string path, string yaml)
    {
        var temporary = path + ".next";
        await File.WriteAllTextAsync(temporary, yaml);
        File.Move(temporary, path, overwrite: true);
    }

    private static Task WaitForUpstreamAsync(ProxyUnderTest proxy, string name) =>
        Rpc.WaitUntilAsync(
            async () => (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray().Any(u => u.GetProperty("name").GetString() == name),
            $"upstream {name} published");
}
