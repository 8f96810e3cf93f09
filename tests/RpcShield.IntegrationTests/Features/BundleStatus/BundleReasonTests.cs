using Xunit.Abstractions;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// One test per reason of `rpcshield_getBundleStatus`, each staged on purpose against a real anvil
/// chain (the test mines the target block, playing the builder that won it). Each asserts the exact
/// state and reason, and that the answer came soon after the target block was mined (the bound is
/// generous for a loaded CI box; typical times are in docs/bundle-status.md).
/// </summary>
public sealed class BundleReasonTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_bundle_calling_a_contract_that_always_reverts_is_not_included_because_it_reverted()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        await setup.Anvil.CallAsync("anvil_setCode", BundleStatusSetup.Reverter, "0x60006000fd");
        var tx = BundleStatusSetup.Call(0, BundleStatusSetup.Reverter);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.MineEmptyAsync();
        var (status, after) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());

        AssertReason(status, "not_included", "reverted", after);
        var detail = status.GetProperty("detail").GetString()!;
        Assert.Contains(Keccak(tx), detail, StringComparison.Ordinal);
        Assert.Contains("eth_simulateV1", detail, StringComparison.Ordinal); // anvil has no eth_callBundle
    }

    [Fact]
    public async Task A_bundle_whose_max_fee_is_under_the_raised_base_fee_is_not_included_because_the_fee_was_too_low()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000, maxFeeGwei: 100);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.Anvil.CallAsync("anvil_setNextBlockBaseFeePerGas", "0x2e90edd000"); // 200 gwei
        await setup.MineEmptyAsync();
        var (status, after) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());

        AssertReason(status, "not_included", "fee_too_low", after);
        Assert.Contains("200 gwei", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_whose_nonce_a_same_nonce_transaction_took_first_is_lost_with_nonce_taken_and_names_the_competitor()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var mine = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var theirs = SignedTx.Transfer(AnvilNode.DevKey0, 0, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", 5000, maxFeeGwei: 200);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([mine], target);

        var competitor = (await setup.Anvil.CallAsync("eth_sendRawTransaction", theirs)).GetString()!; // automine: the target block
        var (status, after) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());

        AssertReason(status, "lost", "nonce_taken", after);
        Assert.Contains(competitor, status.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_every_builder_failed_is_not_included_because_not_received_and_the_32095_error_carries_its_hash()
    {
        await using var setup = await BundleStatusSetup.StartAsync(async owned =>
        {
            var a = await FakeBuilder.StartAsync(BuilderBehaviour.Forbidden);
            var b = await FakeBuilder.StartAsync(BuilderBehaviour.BadGatewayHtml);
            owned.Add(a);
            owned.Add(b);
            return [$"{{ name: a, url: \"{a.Url}\" }}", $"{{ name: b, url: \"{b.Url}\" }}"];
        });
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;

        var reply = await setup.SendBundleAsync([tx], target);
        Assert.Equal(-32095, reply.ErrorCode);
        var hash = reply.Body.GetProperty("error").GetProperty("data").GetProperty("bundleHash").GetString()!;
        await setup.MineEmptyAsync();
        var (status, after) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());

        AssertReason(status, "not_included", "not_received", after);
        var builders = status.GetProperty("builders").EnumerateArray().ToList();
        Assert.Equal(2, builders.Count);
        Assert.All(builders, b => Assert.Equal("error", b.GetProperty("outcome").GetString()));
        Assert.Equal(1, await Rpc.MetricAsync(setup.Proxy, "rpcshield_bundle_reasons_total", ("builder", "none"), ("reason", "not_received")));
    }

    [Fact]
    public async Task A_bundle_cancelled_before_its_target_block_is_cancelled()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        const string Uuid = "2f9b1a4e-1a2b-4c3d-9e8f-0123456789ab";
        var hash = await setup.SendAcceptedAsync([tx], target, Uuid);

        var cancel = await Rpc.CallAsync(setup.Proxy, "eth_cancelBundle", $"[{{\"replacementUuid\":\"{Uuid}\"}}]");
        Assert.False(cancel.IsError, cancel.Body.ToString());
        Assert.Equal("cancelled", (await setup.StatusAsync(hash)).Result.GetProperty("state").GetString());
        await setup.MineEmptyAsync();
        var judgedAt = Stopwatch.GetTimestamp();
        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(setup.Proxy, "rpcshield_bundle_reasons_total", ("reason", "cancelled")) == 1, "the cancelled bundle judged at its block");
        var status = (await setup.StatusAsync(hash)).Result;

        AssertReason(status, "cancelled", "cancelled", Stopwatch.GetElapsedTime(judgedAt));
    }

    [Fact]
    public async Task A_cancelled_bundle_that_lands_anyway_is_included_with_landed_despite_cancel()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        const string Uuid = "7a1b2c3d-1a2b-4c3d-9e8f-0123456789ab";
        var hash = await setup.SendAcceptedAsync([tx], target, Uuid);
        var cancel = await Rpc.CallAsync(setup.Proxy, "eth_cancelBundle", $"[{{\"replacementUuid\":\"{Uuid}\"}}]");
        Assert.False(cancel.IsError, cancel.Body.ToString());
        Assert.Equal("cancelled", (await setup.StatusAsync(hash)).Result.GetProperty("state").GetString());

        // The builder ignored the cancel: the bundle's transaction lands in the target block (automine).
        await setup.Anvil.CallAsync("eth_sendRawTransaction", tx);
        var minedAt = Stopwatch.GetTimestamp();
        var status = default(JsonElement);
        await Rpc.WaitUntilAsync(async () =>
        {
            status = (await setup.StatusAsync(hash)).Result;
            return status.GetProperty("state").GetString() != "cancelled";
        }, "the cancelled bundle to be judged at its block");
        var after = Stopwatch.GetElapsedTime(minedAt);

        Assert.True(after < Soon, $"judged {after.TotalMilliseconds:F0} ms after the target block");
        Assert.Equal("included", status.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("reason").ValueKind);
        Assert.Equal("landed despite cancel", status.GetProperty("detail").GetString());
        Assert.Equal(target, Convert.ToInt64(status.GetProperty("includedIn").GetProperty("block").GetString(), 16));
    }

    [Fact]
    public async Task A_valid_bundle_left_out_of_an_empty_target_block_is_not_selected()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);

        await setup.MineEmptyAsync();
        var (status, after) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());

        AssertReason(status, "not_included", "not_selected", after);
        Assert.Equal("ok", status.GetProperty("builders")[0].GetProperty("outcome").GetString());
        Assert.Equal(1, await Rpc.MetricAsync(setup.Proxy, "rpcshield_bundle_reasons_total", ("builder", "other"), ("reason", "not_selected")));
        // /status (and the /ui page reading it) shows the chain's reasons too.
        var chain = (await setup.Proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("chains")[0];
        Assert.Equal(1, chain.GetProperty("bundle_reasons").GetProperty("not_selected").GetInt32());
    }

    [Fact]
    public async Task A_bundle_the_only_builder_accepted_after_the_target_block_was_seen_is_late()
    {
        HeldBuilder? held = null;
        await using var setup = await BundleStatusSetup.StartAsync(async owned =>
        {
            held = await HeldBuilder.StartAsync();
            owned.Add(held);
            return [$"{{ name: slow, url: \"{held.Url}\", timeout: 15s }}"];
        });
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;

        var send = setup.SendBundleAsync([tx], target);
        await held!.Received.WaitAsync(TimeSpan.FromSeconds(10));
        await setup.MineEmptyAsync();
        // RpcShield sees the target block (the bot reads it through RpcShield) before the builder answers.
        await Rpc.WaitUntilAsync(async () => Convert.ToInt64((await Rpc.CallAsync(setup.Proxy, "eth_blockNumber")).Result.GetString(), 16) >= target, "RpcShield to see the target block");
        held.Release();
        var reply = await send;
        Assert.False(reply.IsError, reply.Body.ToString());
        var (status, after) = await setup.WaitJudgedAsync(reply.Result.GetProperty("bundleHash").GetString()!, Stopwatch.GetTimestamp());

        AssertReason(status, "not_included", "late", after);
        Assert.True(status.GetProperty("builders")[0].GetProperty("late").GetBoolean());
    }

    [Fact]
    public async Task A_bundle_for_a_block_that_is_already_the_head_is_rejected_as_past_block_and_the_refusal_carries_its_hash()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var head = Convert.ToInt64((await Rpc.CallAsync(setup.Proxy, "eth_blockNumber")).Result.GetString(), 16);

        var reply = await setup.SendBundleAsync([tx], head);
        Assert.Equal(-32602, reply.ErrorCode);
        var hash = reply.Body.GetProperty("error").GetProperty("data").GetProperty("bundleHash").GetString()!;
        var status = (await setup.StatusAsync(hash)).Result;

        AssertReason(status, "rejected", "past_block", TimeSpan.Zero);
        Assert.Equal(0, status.GetProperty("builders").GetArrayLength());
    }

    [Fact]
    public async Task An_included_bundle_has_no_reason_and_names_the_block_and_builder()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var hash = await setup.SendAcceptedAsync([tx], target);
        Assert.Equal("pending", (await setup.StatusAsync(hash)).Result.GetProperty("state").GetString());

        await setup.Anvil.CallAsync("anvil_setCoinbase", "0x00000000000000000000000000000000000000aa");
        await setup.Anvil.CallAsync("eth_sendRawTransaction", tx);
        var (status, _) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());

        Assert.Equal("included", status.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("reason").ValueKind);
        Assert.Equal($"0x{target:x}", status.GetProperty("includedIn").GetProperty("block").GetString());
        Assert.Equal("a", status.GetProperty("includedIn").GetProperty("builder").GetString());
        Assert.Equal($"0x{target:x}", status.GetProperty("targetBlock").GetString());
    }

    private void AssertReason(JsonElement status, string state, string reason, TimeSpan after)
    {
        output.WriteLine($"{reason}: judged {after.TotalMilliseconds:0} ms after the target block; detail: {status.GetProperty("detail")}");
        Assert.Equal(state, status.GetProperty("state").GetString());
        Assert.Equal(reason, status.GetProperty("reason").GetString());
        Assert.True(after < Soon, $"judged {after} after the target block");
    }

    private static string Keccak(string raw) => "0x" + Convert.ToHexStringLower(RpcShield.Features.Signing.FlashbotsSigner.Keccak(Convert.FromHexString(raw.AsSpan(2))));
}
