using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Chains;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;
using Xunit.Abstractions;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// A bundle judged `included` whose block a real anvil reorg (`anvil_reorg`) replaces goes back to
/// `pending` and is judged again on the new block: included again (the transaction re-included, now
/// in a block another builder built) or, when the new block leaves it out, `not_included` with a reason.
/// The journal's `bundle_status` rows show every state the bundle went through.
/// </summary>
public sealed class BundleReorgTests(ITestOutputHelper output)
{
    private const string BuilderA = "0x00000000000000000000000000000000000000aa";

    [Fact]
    public async Task A_bundle_whose_block_is_reorged_out_and_re_included_is_pending_again_then_included_in_the_new_block()
    {
        var journal = new RecordingJournal();
        await using var setup = await BundleStatusSetup.StartAsync(services: s => s.AddSingleton<IFailureJournal>(journal));
        var (tx, hash, target) = await LandAsync(setup);

        // The new target block is built by someone else and carries the same transaction.
        await setup.Anvil.CallAsync("anvil_setCoinbase", BundleStatusSetup.OtherCoinbase);
        await setup.Anvil.CallAsync("anvil_reorg", 1, new object[] { new object[] { tx, 0 } });
        Assert.Equal(target, await setup.Anvil.BlockNumberAsync());

        var status = await WaitForAsync(setup, hash, s => s.GetProperty("state").GetString() == "included" && s.GetProperty("includedIn").GetProperty("builder").GetString() == "other",
            "the bundle judged included in the reorged block built by another builder", journal);

        Assert.Equal($"0x{target:x}", status.GetProperty("includedIn").GetProperty("block").GetString());
        Assert.Equal(["pending", "included", "pending", "included"], States(journal, hash));
        Assert.Contains(Rows(journal, hash), r => r.Outcome == "pending" && r.Note!.Contains($"block {target} was reorged out", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bundle_whose_block_is_reorged_out_without_it_is_pending_again_then_not_included_with_a_reason()
    {
        var journal = new RecordingJournal();
        await using var setup = await BundleStatusSetup.StartAsync(services: s => s.AddSingleton<IFailureJournal>(journal));
        var (_, hash, target) = await LandAsync(setup);

        await setup.Anvil.CallAsync("anvil_setCoinbase", BundleStatusSetup.OtherCoinbase);
        await setup.Anvil.CallAsync("anvil_reorg", 1, Array.Empty<object>());
        Assert.Equal(target, await setup.Anvil.BlockNumberAsync());

        var status = await WaitForAsync(setup, hash, s => s.GetProperty("state").GetString() is not ("included" or "pending"),
            "the bundle judged again after its block was reorged out", journal);

        // Still valid on the new parent state and accepted by builder a, but the new block (built by
        // another builder) does not carry it: judged from evidence, not left `unknown`.
        Assert.Equal("not_included", status.GetProperty("state").GetString());
        Assert.Equal("not_selected", status.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("includedIn").ValueKind);
        Assert.Contains("eth_simulateV1", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(["pending", "included", "pending", "not_included"], States(journal, hash));
        Assert.Equal(1, await Rpc.MetricAsync(setup.Proxy, "rpcshield_bundle_reasons_total", ("builder", "other"), ("reason", "not_selected")));
    }

    /// <summary>Sends a bundle for the next block and lands it there (builder a's coinbase); waits for `included`.</summary>
    private static async Task<(string Tx, string Hash, long Target)> LandAsync(BundleStatusSetup setup)
    {
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);
        await setup.Anvil.CallAsync("anvil_setCoinbase", BuilderA);
        await setup.Anvil.CallAsync("eth_sendRawTransaction", tx);
        var (status, _) = await setup.WaitJudgedAsync(hash, System.Diagnostics.Stopwatch.GetTimestamp());
        Assert.Equal("included", status.GetProperty("state").GetString());
        Assert.Equal("a", status.GetProperty("includedIn").GetProperty("builder").GetString());
        Assert.Equal($"0x{target:x}", status.GetProperty("includedIn").GetProperty("block").GetString());
        // A same-height reorg is told by the block's hash: wait until the head tracker has seen this one's
        // (a health probe can move the head, and the inclusion tracker judge it, before the head poll brings it).
        var blockHash = (await setup.Anvil.CallAsync("eth_getBlockByNumber", $"0x{target:x}", false)).GetProperty("hash").GetString();
        var upstream = setup.Proxy.Services.GetRequiredService<ChainRegistry>().Default.Upstreams[0];
        await Rpc.WaitUntilAsync(() => Task.FromResult(string.Equals(upstream.Health.HeadHash, blockHash, StringComparison.OrdinalIgnoreCase)),
            "RpcShield's head tracker to see the target block's hash");
        return (tx, hash, target);
    }

    private async Task<JsonElement> WaitForAsync(BundleStatusSetup setup, string hash, Func<JsonElement, bool> judged, string what, RecordingJournal journal)
    {
        var status = default(JsonElement);
        await Rpc.WaitUntilAsync(async () =>
        {
            status = (await setup.StatusAsync(hash)).Result;
            return judged(status);
        }, what, timeoutMs: 20_000, diagnostics: async () => (await setup.StatusAsync(hash)).Body + " states: " + string.Join(",", States(journal, hash)));
        output.WriteLine($"states {string.Join(" -> ", States(journal, hash))}; detail: {status.GetProperty("detail")}");
        return status;
    }

    private static List<JournalEntry> Rows(RecordingJournal journal, string hash) =>
        [.. journal.Entries.Where(e => e.Kind == JournalKinds.BundleStatus && e.BundleHash == hash)];

    private static string[] States(RecordingJournal journal, string hash) => [.. Rows(journal, hash).Select(r => r.Outcome!)];
}
