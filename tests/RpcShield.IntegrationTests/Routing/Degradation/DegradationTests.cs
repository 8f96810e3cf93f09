using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Routing.Degradation;

/// <summary>Killing nodes walks the chain full → degraded → minimal; restarting them walks it back.</summary>
public sealed class DegradationTests
{
    private const string Raw = "[\"0xf86b808477359400825208943c44cdddb6a900fa2b585dd299e03d12fa4293bc8203e88082f4f5a0d4ad86e3d0e1b0d0a8e1a1a6a7f52b16c0b0e4c6d4c0e9c5f5d8d1e7b0b1c0a0a03a4e2d5f6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7\"]";

    [Fact]
    public async Task Killing_nodes_walks_full_degraded_minimal_and_restarting_walks_back()
    {
        var a = await AnvilNode.StartAsync();
        var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        try
        {
            var journal = new RecordingJournal();
            await using var proxy = await ProxyUnderTest.StartAsync(
                ResilienceYaml.Chain(
                    [("a", a.Url, "primary"), ("b", b.Url, "primary"), ("c", c.Url, "primary")],
                    "circuit_breaker: { failure_ratio: 0.5, min_requests: 10, window: 30s, break: 1s }",
                    degradation: "{ degraded_below_healthy: 3, minimal_below_healthy: 2, shed_in_degraded: [\"debug_*\", \"trace_*\"], reject_sends_in_minimal: true, min_time_in_mode: 1s }"),
                services: s => s.AddSingleton<IFailureJournal>(journal));

            var start = await Rpc.BalanceAsync(proxy);
            Assert.Equal("full", start.Mode);
            var trace = await Rpc.CallAsync(proxy, "debug_traceTransaction", "[\"0x" + new string('0', 64) + "\"]");
            Assert.NotEqual(-32092, trace.IsError ? trace.ErrorCode : 0);

            a.Kill();
            await WaitForModeAsync(proxy, "degraded");
            var shed = await Rpc.CallAsync(proxy, "debug_traceTransaction", "[\"0x" + new string('0', 64) + "\"]");
            Assert.Equal(-32092, shed.ErrorCode);
            Assert.Equal("degraded", shed.Mode);
            var send = await Rpc.CallAsync(proxy, "eth_sendRawTransaction", Raw);
            Assert.NotEqual(-32091, send.IsError ? send.ErrorCode : 0);

            b.Kill();
            await WaitForModeAsync(proxy, "minimal");
            var rejected = await Rpc.CallAsync(proxy, "eth_sendRawTransaction", Raw);
            Assert.Equal(-32091, rejected.ErrorCode);
            Assert.Equal("minimal", rejected.Mode);
            Assert.Equal(-32092, (await Rpc.CallAsync(proxy, "trace_block", "[\"latest\"]")).ErrorCode);
            var read = await Rpc.BalanceAsync(proxy);
            Assert.False(read.IsError, read.Body.ToString());
            Assert.Equal("c", read.Upstream);
            Assert.Equal("minimal", read.Mode);

            var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
            var degradation = status.GetProperty("chains")[0].GetProperty("degradation");
            Assert.Equal("minimal", degradation.GetProperty("mode").GetString());
            Assert.Contains("minimal_below_healthy", degradation.GetProperty("cause").GetString(), StringComparison.Ordinal);
            Assert.Equal(2, await Rpc.MetricAsync(proxy, "rpcshield_mode", ("chain", "test")));

            await using var a2 = await AnvilNode.StartAsync(port: a.Port);
            await WaitForModeAsync(proxy, "degraded");
            await using var b2 = await AnvilNode.StartAsync(port: b.Port);
            await WaitForModeAsync(proxy, "full");
            Assert.False((await Rpc.CallAsync(proxy, "eth_sendRawTransaction", Raw)).ErrorCode == -32091);

            Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_mode_changes_total", ("from", "full"), ("to", "degraded")));
            Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_mode_changes_total", ("from", "degraded"), ("to", "minimal")));
            Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_mode_changes_total", ("from", "minimal"), ("to", "degraded")));
            Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_mode_changes_total", ("from", "degraded"), ("to", "full")));
            Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_mode", ("chain", "test")));
            Assert.Equal(
                ["full->degraded", "degraded->minimal", "minimal->degraded", "degraded->full"],
                journal.Entries.Where(e => e.Kind == "mode_change").Select(e => e.Reason![..e.Reason!.IndexOf(':', StringComparison.Ordinal)]).ToArray());
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    private static Task WaitForModeAsync(ProxyUnderTest proxy, string mode) =>
        Rpc.WaitUntilAsync(async () => (await Rpc.CallAsync(proxy, "eth_chainId")).Mode == mode, $"mode {mode}", diagnostics: () => proxy.Client.GetStringAsync("/status"));
}
