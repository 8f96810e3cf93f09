using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Configuration;

/// <summary>Reloads that swap every upstream of a chain move traffic to upstreams already probed: no request fails.</summary>
public sealed class MakeBeforeBreakReloadTests
{
    private static string Config(int generation, string first, string second) => $$"""
        server: { listen: http://127.0.0.1:0 }
        journal: { path: "" }
        chains:
          - name: test
            chain_id: 31337
            upstreams:
              - { name: g{{generation}}x, url: "{{first}}" }
              - { name: g{{generation}}y, url: "{{second}}" }
            routing:
              health: { interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2 }
              timeouts: { default: 10s, per_attempt: 2s }
        """;

    [Fact]
    public async Task Twenty_reloads_each_swapping_every_upstream_under_continuous_load_fail_no_request()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(0, a.Url, b.Url));
        await proxy.WaitRoutableAsync(2);

        var failures = new List<string>();
        var sent = 0;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            // Bounded: 20 reloads take a few seconds; the cap only guards against a hang.
            for (var i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
            {
                var body = i % 2 == 0
                    ? $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_getBalance","params":["{{AnvilNode.DevAddress0}}","latest"]}"""
                    : $$"""{"jsonrpc":"2.0","id":"w{{worker}}","method":"eth_blockNumber","params":[]}""";
                try
                {
                    using var response = await proxy.Client.PostAsync("/", new StringContent(body, Encoding.UTF8, "application/json"));
                    var text = await response.Content.ReadAsStringAsync();
                    Interlocked.Increment(ref sent);
                    if (!response.IsSuccessStatusCode || text.Contains("\"error\"", StringComparison.Ordinal))
                    {
                        lock (failures)
                        {
                            failures.Add(text);
                        }
                    }
                }
                catch (Exception ex)
                {
                    lock (failures)
                    {
                        failures.Add(ex.Message);
                    }
                }
            }
        })).ToArray();

        for (var generation = 1; generation <= 20; generation++)
        {
            // Every upstream is new each time (new names), and the two nodes change places.
            var (first, second) = generation % 2 == 0 ? (a.Url, b.Url) : (b.Url, a.Url);
            await RewriteAsync(proxy.ConfigPath!, Config(generation, first, second));
            await WaitForUpstreamAsync(proxy, $"g{generation}x");
            await Task.Delay(50);
        }

        await Task.Delay(300);
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.True(sent > 100, $"only {sent} requests were sent");
        Assert.True(failures.Count == 0, $"{failures.Count} of {sent} failed, first: {failures.FirstOrDefault()}");
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(["g20x", "g20y"], status.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray().Select(u => u.GetProperty("name").GetString()));
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
