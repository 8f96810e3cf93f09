using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>The sandbox network itself: slots, node endpoints and their control API, with RpcShield in front.</summary>
public sealed class SandboxNetworkTests
{
    [Fact]
    public async Task The_sandbox_mines_a_block_every_slot_built_by_a_configured_builder_and_serves_it_through_its_nodes()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromMilliseconds(400), autoSeal: true, withProxy: false);
        var start = await sandbox.HeadAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (sandbox.Network.History.Count < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var history = sandbox.Network.History;
        Assert.True(history.Count >= 3, $"only {history.Count} block(s) sealed");
        Assert.All(history, b => Assert.Contains(b.Builder, new[] { "builder-a", "builder-b", "builder-c" }));
        Assert.Equal(Enumerable.Range((int)start + 1, history.Count).Select(n => (long)n), history.Select(b => b.Number));

        // Each node endpoint forwards to the same chain, and the block's miner is its winner's coinbase.
        var last = history[^1];
        foreach (var node in new[] { "node-a", "node-b", "node-c" })
        {
            var block = await SandboxUnderTest.CallAsync(sandbox.NodeUrl(node), "eth_getBlockByNumber", $"[\"0x{last.Number:x}\",false]");
            Assert.Equal(last.Coinbase, block.GetProperty("result").GetProperty("miner").GetString(), ignoreCase: true);
        }
    }

    [Fact]
    public async Task Winners_follow_the_weights_and_a_zero_weight_builder_never_wins()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(weights: [3, 1, 0], withProxy: false);
        var wins = new Dictionary<string, int>();
        for (var i = 0; i < 12; i++)
        {
            var block = await sandbox.Network.SealAsync();
            wins[block.Builder!] = wins.GetValueOrDefault(block.Builder!) + 1;
        }

        Assert.False(wins.ContainsKey("builder-c"));
        Assert.True(wins.GetValueOrDefault("builder-a") > wins.GetValueOrDefault("builder-b"), string.Join(", ", wins));
        Assert.Equal(12, await sandbox.HeadAsync());
    }

    [Fact]
    public async Task Stopping_a_node_makes_RpcShield_fail_over_and_healing_brings_it_back()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync();
        var (_, first, _) = await sandbox.RpcAsync("eth_blockNumber");
        Assert.NotNull(first);

        using (var stop = await sandbox.Proxy.PostAsync($"/sandbox/nodes/{first}/stop", null))
        {
            Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
            Assert.Equal("stopped", (await stop.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        }

        // The port now refuses connections, like a dead node.
        await Assert.ThrowsAsync<HttpRequestException>(() => SandboxUnderTest.CallAsync(sandbox.NodeUrl(first!), "eth_blockNumber"));
        for (var i = 0; i < 10; i++)
        {
            var (body, upstream, _) = await sandbox.RpcAsync("eth_chainId");
            Assert.Equal("0x7a69", body.GetProperty("result").GetString());
            Assert.NotEqual(first, upstream);
        }

        await FailoverTestsWait(sandbox, s => FailoverTests.Upstream(s, first!).GetProperty("health").GetString() == "unhealthy");
        using (var heal = await sandbox.Proxy.PostAsync($"/sandbox/nodes/{first}/heal", null))
        {
            Assert.Equal("running", (await heal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        }

        await FailoverTestsWait(sandbox, s => FailoverTests.Upstream(s, first!).GetProperty("health").GetString() == "healthy");
        Assert.Equal("0x7a69", (await SandboxUnderTest.CallAsync(sandbox.NodeUrl(first!), "eth_chainId")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task A_stalled_node_holds_requests_without_answering_and_RpcShield_serves_from_another()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync();
        var (_, first, _) = await sandbox.RpcAsync("eth_blockNumber");
        (await sandbox.Proxy.PostAsync($"/sandbox/nodes/{first}/stall", null)).EnsureSuccessStatusCode();

        using var impatient = new HttpClient { Timeout = TimeSpan.FromMilliseconds(400) };
        var direct = impatient.PostAsync(sandbox.NodeUrl(first!), FailoverTests.Json("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"""));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => direct);

        for (var i = 0; i < 5; i++)
        {
            var (body, upstream, _) = await sandbox.RpcAsync("eth_getBalance", """["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]""");
            Assert.True(body.TryGetProperty("result", out _), body.ToString());
            Assert.NotEqual(first, upstream);
        }

        (await sandbox.Proxy.PostAsync($"/sandbox/nodes/{first}/heal", null)).EnsureSuccessStatusCode();
        Assert.Equal("0x7a69", (await SandboxUnderTest.CallAsync(sandbox.NodeUrl(first!), "eth_chainId")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task A_lagging_node_serves_an_old_head_and_RpcShield_marks_it_lagging_until_healed()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync();
        for (var i = 0; i < 6; i++)
        {
            await sandbox.Network.SealAsync();
        }

        (await sandbox.Proxy.PostAsync("/sandbox/nodes/node-a/lag?blocks=4", null)).EnsureSuccessStatusCode();
        var head = await sandbox.HeadAsync();
        var lagged = await SandboxUnderTest.CallAsync(sandbox.NodeUrl("node-a"), "eth_blockNumber");
        Assert.Equal($"0x{head - 4:x}", lagged.GetProperty("result").GetString());
        // `latest` is pinned to the old head; blocks it has not "seen" are unknown.
        var latest = await SandboxUnderTest.CallAsync(sandbox.NodeUrl("node-a"), "eth_getBlockByNumber", "[\"latest\",false]");
        Assert.Equal($"0x{head - 4:x}", latest.GetProperty("result").GetProperty("number").GetString());
        var newest = await SandboxUnderTest.CallAsync(sandbox.NodeUrl("node-a"), "eth_getBlockByNumber", $"[\"0x{head:x}\",false]");
        Assert.Equal(JsonValueKind.Null, newest.GetProperty("result").ValueKind);

        await FailoverTestsWait(sandbox, s => FailoverTests.Upstream(s, "node-a").GetProperty("health").GetString() == "lagging");
        (await sandbox.Proxy.PostAsync("/sandbox/nodes/node-a/heal", null)).EnsureSuccessStatusCode();
        await FailoverTestsWait(sandbox, s => FailoverTests.Upstream(s, "node-a").GetProperty("health").GetString() == "healthy");
    }

    [Fact]
    public async Task A_slow_node_answers_late_and_the_control_api_reports_state_and_rejects_bad_commands()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync();
        (await sandbox.Proxy.PostAsync("/sandbox/nodes/node-c/slow?ms=300", null)).EnsureSuccessStatusCode();
        var started = DateTime.UtcNow;
        await SandboxUnderTest.CallAsync(sandbox.NodeUrl("node-c"), "eth_chainId");
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(250));

        var state = await sandbox.Proxy.GetFromJsonAsync<JsonElement>("/sandbox");
        var nodeC = state.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("name").GetString() == "node-c");
        Assert.Equal(300, nodeC.GetProperty("latency_ms").GetDouble());
        Assert.Equal(3, state.GetProperty("builders").GetArrayLength());

        using var unknown = await sandbox.Proxy.PostAsync("/sandbox/nodes/nope/stop", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var badAction = await sandbox.Proxy.PostAsync("/sandbox/nodes/node-a/explode", null);
        Assert.Equal(HttpStatusCode.BadRequest, badAction.StatusCode);
        using var badLag = await sandbox.Proxy.PostAsync("/sandbox/nodes/node-a/lag?blocks=0", null);
        Assert.Equal(HttpStatusCode.BadRequest, badLag.StatusCode);
    }

    private static Task FailoverTestsWait(SandboxUnderTest sandbox, Func<JsonElement, bool> condition) => WaitForStatusAsync(sandbox.Proxy, condition);

    internal static async Task WaitForStatusAsync(HttpClient proxy, Func<JsonElement, bool> condition, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        JsonElement status = default;
        while (DateTime.UtcNow < deadline)
        {
            status = await proxy.GetFromJsonAsync<JsonElement>("/status");
            if (condition(status))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail("condition not reached; last status: " + status);
    }
}
