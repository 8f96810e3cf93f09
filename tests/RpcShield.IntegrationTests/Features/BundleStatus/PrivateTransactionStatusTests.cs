using System.Text.Json;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// Private transactions (eth_sendPrivateTransaction / eth_sendPrivateRawTransaction) followed through
/// their window up to maxBlockNumber (default head + 25) on a real anvil chain, read with
/// `rpcshield_getBundleStatus` by the transaction hash RpcShield answered.
/// </summary>
public sealed class PrivateTransactionStatusTests
{
    private static long Block(JsonElement hex) => Convert.ToInt64(hex.GetString(), 16);

    private static async Task<string> SendPrivateAsync(BundleStatusSetup setup, string tx, long? maxBlock = null)
    {
        var reply = maxBlock is { } max
            ? await Rpc.CallAsync(setup.Proxy, "eth_sendPrivateTransaction", $$"""[{"tx":"{{tx}}","maxBlockNumber":"0x{{max:x}}"}]""")
            : await Rpc.CallAsync(setup.Proxy, "eth_sendPrivateRawTransaction", $"[\"{tx}\"]");
        Assert.False(reply.IsError, reply.Body.ToString());
        return reply.Result.GetString()!;
    }

    private static async Task<JsonElement> WaitStateAsync(BundleStatusSetup setup, string hash, string notState)
    {
        var status = default(JsonElement);
        await Rpc.WaitUntilAsync(async () =>
        {
            status = (await setup.StatusAsync(hash)).Result;
            return status.GetProperty("state").GetString() != notState;
        }, $"the private transaction to leave {notState}", diagnostics: async () => (await setup.StatusAsync(hash)).Body.ToString());
        return status;
    }

    [Fact]
    public async Task A_private_transaction_is_pending_through_its_default_window_and_included_in_a_later_block()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var head = await setup.Anvil.BlockNumberAsync();
        var hash = await SendPrivateAsync(setup, tx);

        var status = (await setup.StatusAsync(hash)).Result;
        Assert.Equal("pending", status.GetProperty("state").GetString());
        Assert.Equal(head + 25, Block(status.GetProperty("targetBlock")));

        // Two blocks without it: still pending (the window is not over; had it been judged at the first
        // block it would be not_included, and the final assertion below would fail).
        await setup.MineEmptyAsync();
        await setup.MineEmptyAsync();
        Assert.Equal("pending", (await setup.StatusAsync(hash)).Result.GetProperty("state").GetString());

        await setup.Anvil.CallAsync("eth_sendRawTransaction", tx); // automine: block head + 3
        status = await WaitStateAsync(setup, hash, "pending");

        Assert.Equal("included", status.GetProperty("state").GetString());
        Assert.Equal(head + 3, Block(status.GetProperty("includedIn").GetProperty("block")));
    }

    [Fact]
    public async Task A_private_transaction_not_mined_by_its_max_block_is_not_included_with_a_reason_and_counted()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var max = await setup.Anvil.BlockNumberAsync() + 2;
        var hash = await SendPrivateAsync(setup, tx, max);

        await setup.MineEmptyAsync();
        await setup.MineEmptyAsync();
        var status = await WaitStateAsync(setup, hash, "pending");

        Assert.Equal("not_included", status.GetProperty("state").GetString());
        Assert.Equal(max, Block(status.GetProperty("targetBlock")));
        var reason = status.GetProperty("reason").GetString();
        Assert.Equal("not_selected", reason); // valid, accepted by the builder, left out of every block of its window
        Assert.Equal(1, await Rpc.MetricAsync(setup.Proxy, "rpcshield_bundle_reasons_total", ("reason", "not_selected")));
    }

    [Fact]
    public async Task A_private_transaction_whose_nonce_another_transaction_took_is_lost_with_nonce_taken()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var mine = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var theirs = SignedTx.Transfer(AnvilNode.DevKey0, 0, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", 5000, maxFeeGwei: 200);
        var hash = await SendPrivateAsync(setup, mine);

        await setup.MineEmptyAsync();
        var competitor = (await setup.Anvil.CallAsync("eth_sendRawTransaction", theirs)).GetString()!;
        var status = await WaitStateAsync(setup, hash, "pending");

        Assert.Equal("lost", status.GetProperty("state").GetString());
        Assert.Equal("nonce_taken", status.GetProperty("reason").GetString());
        Assert.Contains(competitor, status.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_private_transaction_cancelled_with_eth_cancelPrivateTransaction_is_cancelled()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var max = await setup.Anvil.BlockNumberAsync() + 2;
        var hash = await SendPrivateAsync(setup, tx, max);

        var cancel = await Rpc.CallAsync(setup.Proxy, "eth_cancelPrivateTransaction", $$"""[{"txHash":"{{hash}}"}]""");
        Assert.False(cancel.IsError, cancel.Body.ToString());
        Assert.Equal("cancelled", (await setup.StatusAsync(hash)).Result.GetProperty("state").GetString());
        await setup.MineEmptyAsync();
        await setup.MineEmptyAsync();
        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(setup.Proxy, "rpcshield_bundle_reasons_total", ("reason", "cancelled")) == 1, "the cancelled private transaction judged at its max block");

        var status = (await setup.StatusAsync(hash)).Result;
        Assert.Equal("cancelled", status.GetProperty("state").GetString());
        Assert.Equal("cancelled", status.GetProperty("reason").GetString());

        var malformed = await Rpc.CallAsync(setup.Proxy, "eth_cancelPrivateTransaction", """[{"txHash":"0x12"}]""");
        Assert.Equal(-32602, malformed.ErrorCode);
    }
}
