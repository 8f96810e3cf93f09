using System.Diagnostics;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>Bad input to `rpcshield_getBundleStatus` and malformed bundles: clear -32602 errors, nothing sent to builders.</summary>
public sealed class BundleStatusInputTests
{
    [Theory]
    [InlineData("""["0x0000000000000000000000000000000000000000000000000000000000000001"]""", "Unknown bundle hash")]
    [InlineData("""[]""", "expected [bundleHash, targetBlock?]")]
    [InlineData("""{"bundleHash":"0x01"}""", "expected [bundleHash, targetBlock?]")]
    [InlineData("""["0x1234"]""", "bundleHash must be a 32-byte 0x-hex hash")]
    [InlineData("""[42]""", "bundleHash must be a 32-byte 0x-hex hash")]
    [InlineData("""["0x0000000000000000000000000000000000000000000000000000000000000001","latest"]""", "targetBlock must be a hex quantity")]
    [InlineData("""["0x0000000000000000000000000000000000000000000000000000000000000001","0x1",3]""", "expected [bundleHash, targetBlock?]")]
    public async Task Bad_status_params_and_unknown_hashes_get_a_clear_invalid_params_error(string parameters, string message)
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var reply = await Rpc.CallAsync(setup.Proxy, "rpcshield_getBundleStatus", parameters);
        Assert.Equal(-32602, reply.ErrorCode);
        Assert.Contains(message, reply.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_known_bundle_asked_for_a_block_it_was_not_sent_for_is_a_clear_error_and_without_a_block_the_latest_target_answers()
    {
        await using var setup = await BundleStatusSetup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000);
        var head = await setup.Anvil.BlockNumberAsync();
        var hash = await setup.SendAcceptedAsync([tx], head + 5);
        await setup.SendAcceptedAsync([tx], head + 6);

        var wrong = await setup.StatusAsync(hash, head + 9);
        Assert.Equal(-32602, wrong.ErrorCode);
        Assert.Contains($"was not sent for block {head + 9}", wrong.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal($"0x{head + 6:x}", (await setup.StatusAsync(hash)).Result.GetProperty("targetBlock").GetString());
        Assert.Equal($"0x{head + 5:x}", (await setup.StatusAsync(hash, head + 5)).Result.GetProperty("targetBlock").GetString());
    }

    [Theory]
    [InlineData("""[{"txs":[],"blockNumber":"0x10"}]""", "txs is empty")]
    [InlineData("""[{"txs":["0xzz"],"blockNumber":"0x10"}]""", "txs[0] is not a 0x-prefixed hex signed transaction")]
    [InlineData("""[{"txs":["0x1234"],"blockNumber":"0x10"}]""", "transaction 0 is not a decodable signed transaction")]
    [InlineData("""[{"txs":["0x02f8"],"blockNumber":"0x10"}]""", "transaction 0 is not a decodable signed transaction")]
    [InlineData("""[{"blockNumber":"0x10"}]""", "txs must be an array")]
    [InlineData("""["0x10"]""", "eth_sendBundle params must be")]
    public async Task Malformed_bundles_get_a_clear_invalid_params_error_and_reach_no_builder(string parameters, string message)
    {
        FakeBuilder? builder = null;
        await using var setup = await BundleStatusSetup.StartAsync(async owned =>
        {
            builder = await FakeBuilder.StartAsync();
            owned.Add(builder);
            return [$"{{ name: a, url: \"{builder.Url}\" }}"];
        });

        var reply = await Rpc.CallAsync(setup.Proxy, "eth_sendBundle", parameters);

        Assert.Equal(-32602, reply.ErrorCode);
        Assert.Contains(message, reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(builder!.Requests);
    }

    [Fact]
    public async Task Statuses_survive_a_restart_through_the_journal()
    {
        var directory = Directory.CreateTempSubdirectory("rpcshield-bundle-status-");
        var journal = Path.Combine(directory.FullName, "journal.db");
        try
        {
            string hash;
            long target;
            string reason;
            await using (var setup = await BundleStatusSetup.StartAsync(extraTop: $"journal: {{ path: \"{journal}\" }}"))
            {
                var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, BundleStatusSetup.Recipient, 1000, maxFeeGwei: 100);
                target = await setup.Anvil.BlockNumberAsync() + 1;
                hash = await setup.SendAcceptedAsync([tx], target);
                await setup.Anvil.CallAsync("anvil_setNextBlockBaseFeePerGas", "0x2e90edd000");
                await setup.MineEmptyAsync();
                var (status, _) = await setup.WaitJudgedAsync(hash, Stopwatch.GetTimestamp());
                reason = status.GetProperty("reason").GetString()!;
                Assert.Equal("fee_too_low", reason);
            }

            await using (var restarted = await BundleStatusSetup.StartAsync(extraTop: $"journal: {{ path: \"{journal}\" }}"))
            {
                var status = (await restarted.StatusAsync(hash, target)).Result;
                Assert.Equal("not_included", status.GetProperty("state").GetString());
                Assert.Equal(reason, status.GetProperty("reason").GetString());
                Assert.Contains("base fee", status.GetProperty("detail").GetString(), StringComparison.Ordinal);
                Assert.Equal("a", status.GetProperty("builders")[0].GetProperty("builder").GetString());
                Assert.Equal("ok", status.GetProperty("builders")[0].GetProperty("outcome").GetString());
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
