using System.Diagnostics;
using System.Text.Json;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// The judge's `eth_callBundle` path (anvil has no such method): a chain upstream that answers it in
/// the Flashbots shape and passes everything else through to a real anvil node. A revert is read with
/// its transaction and revert data, a clean answer is a valid simulation, a malformed answer is never
/// read as either (eth_simulateV1 instead, or `unknown` when nothing else can simulate), and simulations
/// go only to `trusted: true` upstreams when any is marked.
/// </summary>
public sealed class CallBundleSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_revert_in_the_eth_callBundle_answer_is_reverted_naming_the_transaction_and_its_revert_data()
    {
        SimulatingUpstream? sim = null;
        await using var setup = await StartAsync(s => sim = s);
        var asked = new List<JsonElement>();
        sim!.Answers["eth_callBundle"] = (id, p) =>
        {
            lock (asked)
            {
                asked.Add(p[0].Clone());
            }

            return SimulatingUpstream.CallBundleAnswer(id, p, 1);
        };
        var first = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var second = SignedTx.Transfer(AnvilNode.DevKey0, 1, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([first, second], target);

        await setup.MineEmptyAsync();
        var status = await JudgedAsync(setup, hash);

        Assert.Equal("not_included", status.GetProperty("state").GetString());
        Assert.Equal("reverted", status.GetProperty("reason").GetString());
        var detail = status.GetProperty("detail").GetString()!;
        Assert.Contains($"transaction {SimulatingUpstream.TxHash(second)} reverts", detail, StringComparison.Ordinal);
        Assert.Contains(SimulatingUpstream.RevertData, detail, StringComparison.Ordinal);
        Assert.Contains("eth_callBundle on sim", detail, StringComparison.Ordinal);
        Assert.Equal(0, sim.Asked("eth_simulateV1"));
        // Simulated as the target block, on its parent's state, with the bot's raw transactions.
        var request = Assert.Single(asked);
        Assert.Equal($"0x{target:x}", request.GetProperty("blockNumber").GetString());
        Assert.Equal($"0x{target - 1:x}", request.GetProperty("stateBlockNumber").GetString());
        Assert.Equal([first, second], request.GetProperty("txs").EnumerateArray().Select(t => t.GetString()!));
    }

    [Fact]
    public async Task A_revert_the_bot_allowed_in_revertingTxHashes_is_passed_over_and_the_next_revert_counts()
    {
        SimulatingUpstream? sim = null;
        await using var setup = await StartAsync(s => sim = s);
        sim!.Answers["eth_callBundle"] = (id, p) => SimulatingUpstream.CallBundleAnswer(id, p, 0, 1);
        var allowed = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var second = SignedTx.Transfer(AnvilNode.DevKey0, 1, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var reply = await Rpc.CallAsync(setup.Proxy, "eth_sendBundle",
            $$"""[{"txs":["{{allowed}}","{{second}}"],"blockNumber":"0x{{target:x}}","revertingTxHashes":["{{SimulatingUpstream.TxHash(allowed).ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal)}}"]}]""");
        Assert.False(reply.IsError, reply.Body.ToString());

        await setup.MineEmptyAsync();
        var status = await JudgedAsync(setup, reply.Result.GetProperty("bundleHash").GetString()!);

        Assert.Equal("reverted", status.GetProperty("reason").GetString());
        Assert.Contains($"transaction {SimulatingUpstream.TxHash(second)} reverts", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clean_eth_callBundle_answer_is_a_valid_simulation_so_the_miss_is_not_selected()
    {
        SimulatingUpstream? sim = null;
        await using var setup = await StartAsync(s => sim = s);
        sim!.Answers["eth_callBundle"] = (id, p) => SimulatingUpstream.CallBundleAnswer(id, p);
        var tx = BundleStatusSetup.Call(0, BundleStatusSetup.Reverter); // would revert on anvil: only the answer is read
        await setup.Anvil.CallAsync("anvil_setCode", BundleStatusSetup.Reverter, "0x60006000fd");
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.MineEmptyAsync();
        var status = await JudgedAsync(setup, hash);

        Assert.Equal("not_included", status.GetProperty("state").GetString());
        Assert.Equal("not_selected", status.GetProperty("reason").GetString());
        Assert.Contains("simulated with eth_callBundle on sim", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, sim.Asked("eth_callBundle"));
        Assert.Equal(0, sim.Asked("eth_simulateV1"));
    }

    /// <summary>Answers that are not a Flashbots callBundle result for this bundle, each given in place of `result` (or as the whole body).</summary>
    public static TheoryData<string, string> Malformed => new()
    {
        { "result is a string", """{"jsonrpc":"2.0","id":ID,"result":"0x"}""" },
        { "no results", """{"jsonrpc":"2.0","id":ID,"result":{"bundleHash":"0x11","totalGasUsed":21000}}""" },
        { "results are not objects", """{"jsonrpc":"2.0","id":ID,"result":{"results":["0x1"]}}""" },
        { "no result for the transaction", """{"jsonrpc":"2.0","id":ID,"result":{"results":[]}}""" },
        { "a hash that is not the bundle's", """{"jsonrpc":"2.0","id":ID,"result":{"results":[{"txHash":"0x00000000000000000000000000000000000000000000000000000000000000ad","gasUsed":21000,"error":"execution reverted","revert":"0x"}]}}""" },
        { "a hash that is a number", """{"jsonrpc":"2.0","id":ID,"result":{"results":[{"txHash":12,"gasUsed":21000,"value":"0x"}]}}""" },
        { "an error that is not 'unsupported'", """{"jsonrpc":"2.0","id":ID,"error":{"code":-32000,"message":"bundle simulation failed"}}""" },
        { "not JSON", "<html><body>502 Bad Gateway</body></html>" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_malformed_eth_callBundle_answer_is_not_read_and_eth_simulateV1_decides(string what, string answer)
    {
        SimulatingUpstream? sim = null;
        await using var setup = await StartAsync(s => sim = s);
        sim!.Answers["eth_callBundle"] = (id, _) => answer.Replace("ID", id, StringComparison.Ordinal);
        await setup.Anvil.CallAsync("anvil_setCode", BundleStatusSetup.Reverter, "0x60006000fd");
        var tx = BundleStatusSetup.Call(0, BundleStatusSetup.Reverter);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.MineEmptyAsync();
        var status = await JudgedAsync(setup, hash);

        // anvil's eth_simulateV1 (through the same upstream) shows the real revert.
        Assert.True(status.GetProperty("reason").GetString() == "reverted", $"{what}: {status}");
        var detail = status.GetProperty("detail").GetString()!;
        Assert.Contains("simulated with eth_simulateV1 on sim", detail, StringComparison.Ordinal);
        Assert.Contains(SimulatingUpstream.TxHash(tx), detail, StringComparison.Ordinal);
        Assert.Equal(1, sim.Asked("eth_callBundle"));
        Assert.True(sim.Asked("eth_simulateV1") >= 1, what);
    }

    [Fact]
    public async Task A_malformed_eth_callBundle_answer_with_nothing_else_to_simulate_on_is_unknown_never_a_guess()
    {
        SimulatingUpstream? sim = null;
        await using var setup = await StartAsync(s => sim = s);
        sim!.Answers["eth_callBundle"] = (id, _) => SimulatingUpstream.Result(id, """{"results":[]}""");
        sim.Answers["eth_simulateV1"] = (id, _) => SimulatingUpstream.MethodNotFound(id, "eth_simulateV1");
        sim.Answers["eth_call"] = (id, _) => SimulatingUpstream.MethodNotFound(id, "eth_call");
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.MineEmptyAsync();
        var status = await JudgedAsync(setup, hash);

        Assert.Equal("not_included", status.GetProperty("state").GetString());
        Assert.Equal("unknown", status.GetProperty("reason").GetString());
        var detail = status.GetProperty("detail").GetString()!;
        Assert.Contains("eth_callBundle on sim: unexpected answer", detail, StringComparison.Ordinal);
        Assert.Contains("eth_simulateV1 on sim: not supported", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulations_go_only_to_the_trusted_upstream_when_one_is_marked()
    {
        SimulatingUpstream? trusted = null, untrusted = null;
        await using var setup = await BundleStatusSetup.StartAsync(upstreams: async (anvil, owned) =>
        {
            trusted = await SimulatingUpstream.StartAsync(anvil.Url);
            untrusted = await SimulatingUpstream.StartAsync(anvil.Url);
            owned.Add(trusted);
            owned.Add(untrusted);
            return [("trusted", trusted.Url, true), ("untrusted", untrusted.Url, false)];
        });
        await setup.Proxy.WaitRoutableAsync(2);
        // The trusted node has no eth_callBundle (anvil's eth_simulateV1 decides); the untrusted one would call it reverted.
        trusted!.Answers["eth_callBundle"] = (id, _) => SimulatingUpstream.MethodNotFound(id, "eth_callBundle");
        untrusted!.Answers["eth_callBundle"] = (id, p) => SimulatingUpstream.CallBundleAnswer(id, p, 0);
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.MineEmptyAsync();
        var status = await JudgedAsync(setup, hash);

        Assert.Equal("not_selected", status.GetProperty("reason").GetString());
        Assert.Contains("simulated with eth_simulateV1 on trusted", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, trusted.Asked("eth_callBundle"));
        Assert.Equal(0, untrusted.Asked("eth_callBundle") + untrusted.Asked("eth_simulateV1") + untrusted.Asked("eth_call"));
        Assert.True(untrusted.Asked("eth_getBlockByNumber") + untrusted.Asked("eth_blockNumber") > 0, "the untrusted upstream was in use for other reads");
    }

    /// <summary>One chain upstream `sim` in front of the anvil node, and one accepting builder.</summary>
    private static async Task<BundleStatusSetup> StartAsync(Action<SimulatingUpstream> created) =>
        await BundleStatusSetup.StartAsync(upstreams: async (anvil, owned) =>
        {
            var sim = await SimulatingUpstream.StartAsync(anvil.Url);
            owned.Add(sim);
            created(sim);
            return [("sim", sim.Url, false)];
        });

    private async Task<JsonElement> JudgedAsync(BundleStatusSetup setup, string hash)
    {
        var (status, after) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());
        output.WriteLine($"judged {after.TotalMilliseconds:0} ms after the target block: {status}");
        return status;
    }
}
