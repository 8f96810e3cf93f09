using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Sandbox;
using RpcShield.Features.Signing;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>Sandbox builders: the real wire format, signature checks, and what a slot winner puts in its block.</summary>
public sealed class SandboxBuilderTests
{
    private const string Tipper = SlotProducer.CoinbaseTipper;
    private const string ReputationKey = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

    [Fact]
    public async Task A_signed_bundle_is_accepted_and_a_tampered_or_unsigned_one_gets_403_like_the_flashbots_relay()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(requireSignature: true, withProxy: false);
        var (raw, _) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, Tipper, 1000);
        var body = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":42,"method":"eth_sendBundle","params":{{SandboxUnderTest.Bundle(1, raw)}}}""");
        var signer = new FlashbotsSigner(ReputationKey);
        var header = signer.Sign(body);

        using (var ok = await PostAsync(sandbox.BuilderUrl("builder-a"), body, header))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            var json = await ok.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(42, json.GetProperty("id").GetInt32());
            Assert.Equal(SandboxBundle.HashOf([raw]), json.GetProperty("result").GetProperty("bundleHash").GetString());
        }

        var submission = sandbox.Network.Builder("builder-a")!.Submissions.Single();
        Assert.Equal(signer.Address, submission.Signer, ignoreCase: true);
        Assert.Equal(body, submission.Body);

        var tampered = (byte[])body.Clone();
        tampered[^3] = (byte)'2'; // blockNumber 0x1 -> 0x2: same header, different bytes
        using (var rejected = await PostAsync(sandbox.BuilderUrl("builder-b"), tampered, header))
        {
            Assert.Equal(HttpStatusCode.Forbidden, rejected.StatusCode);
            var error = (await rejected.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
            Assert.StartsWith("error in signature check", error, StringComparison.Ordinal);
        }

        using (var unsigned = await PostAsync(sandbox.BuilderUrl("builder-c"), body, null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        }

        Assert.Equal(1, sandbox.Network.Builder("builder-a")!.PendingCount);
        Assert.Equal(0, sandbox.Network.Builder("builder-b")!.PendingCount);
        Assert.Equal(0, sandbox.Network.Builder("builder-c")!.PendingCount);
    }

    [Fact]
    public async Task Builders_answer_bad_requests_with_json_rpc_errors_and_support_cancel_and_private_transactions()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(withProxy: false);
        var url = sandbox.BuilderUrl("builder-a");
        Assert.Equal(-32602, (await SandboxUnderTest.CallAsync(url, "eth_sendBundle", """[{"txs":["0xzz"],"blockNumber":"0x5"}]""")).GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(-32602, (await SandboxUnderTest.CallAsync(url, "eth_sendBundle", """[{"txs":["0x02"]}]""")).GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(-32601, (await SandboxUnderTest.CallAsync(url, "eth_call", "[]")).GetProperty("error").GetProperty("code").GetInt32());
        using (var garbage = await PostAsync(url, "{not json"u8.ToArray(), null))
        {
            Assert.Equal(-32700, (await garbage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetInt32());
        }

        var (raw, hash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, Tipper, 1000);
        var withUuid = $$"""[{"txs":["{{raw}}"],"blockNumber":"0x1","replacementUuid":"u-1"}]""";
        Assert.True((await SandboxUnderTest.CallAsync(url, "eth_sendBundle", withUuid)).TryGetProperty("result", out _));
        Assert.Equal(1, sandbox.Network.Builder("builder-a")!.PendingCount);
        Assert.True((await SandboxUnderTest.CallAsync(url, "eth_cancelBundle", """[{"replacementUuid":"u-1"}]""")).TryGetProperty("result", out _));
        Assert.Equal(0, sandbox.Network.Builder("builder-a")!.PendingCount);

        var privateTx = await SandboxUnderTest.CallAsync(url, "eth_sendPrivateRawTransaction", $"[\"{raw}\"]");
        Assert.Equal(hash, privateTx.GetProperty("result").GetString());
        var block = await sandbox.Network.SealAsync("builder-a");
        Assert.True(block.Bundles.Single().Included);
        var receipt = await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{hash}\"]");
        Assert.Equal($"0x{block.Number:x}", receipt.GetProperty("result").GetProperty("blockNumber").GetString());
    }

    [Fact]
    public async Task The_slot_winner_sets_its_coinbase_and_includes_its_valid_bundles_in_order_dropping_failing_ones()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(withProxy: false);
        const string reverter = "0x00000000000000000000000000000000000dead1";
        Assert.True((await sandbox.AnvilAsync("anvil_setCode", $"[\"{reverter}\",\"0x60006000fd\"]")).TryGetProperty("result", out _));
        var winner = sandbox.Network.Builder("builder-b")!;
        var url = sandbox.BuilderUrl("builder-b");
        var target = await sandbox.HeadAsync() + 1;
        var tip = BigInteger.Parse("1000000000000000", System.Globalization.CultureInfo.InvariantCulture);
        var before = await sandbox.BalanceAsync(winner.Coinbase);

        // 1: pays the coinbase; 2: reverts and is not allowed to; 3: reverts but is allowed to; 4: targets a later block.
        var (pay, payHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, Tipper, tip);
        var (revert, revertHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 1, reverter, 0);
        var (allowed, allowedHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 1, reverter, 0, priorityGwei: 2);
        var (later, laterHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 2, Tipper, tip);
        await SandboxUnderTest.CallAsync(url, "eth_sendBundle", SandboxUnderTest.Bundle(target, pay));
        await SandboxUnderTest.CallAsync(url, "eth_sendBundle", SandboxUnderTest.Bundle(target, revert));
        await SandboxUnderTest.CallAsync(url, "eth_sendBundle", $$"""[{"txs":["{{allowed}}"],"blockNumber":"0x{{target:x}}","revertingTxHashes":["{{allowedHash}}"]}]""");
        await SandboxUnderTest.CallAsync(url, "eth_sendBundle", SandboxUnderTest.Bundle(target + 1, later));
        // The losing builder's copy of the first bundle does not matter: builder-b wins.
        await SandboxUnderTest.CallAsync(sandbox.BuilderUrl("builder-a"), "eth_sendBundle", SandboxUnderTest.Bundle(target, pay));

        var block = await sandbox.Network.SealAsync("builder-b");
        Assert.Equal(target, block.Number);
        Assert.Equal("builder-b", block.Builder);
        Assert.Equal(new[] { true, false, true }, block.Bundles.Select(b => b.Included).ToArray());
        Assert.Contains("reverts", block.Bundles[1].Reason, StringComparison.Ordinal);

        var mined = (await sandbox.AnvilAsync("eth_getBlockByNumber", $"[\"0x{target:x}\",false]")).GetProperty("result");
        Assert.Equal(winner.Coinbase, mined.GetProperty("miner").GetString(), ignoreCase: true);
        Assert.Equal(new[] { payHash, allowedHash }, mined.GetProperty("transactions").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.True(await sandbox.BalanceAsync(winner.Coinbase) - before >= tip, "the coinbase did not receive the tip");
        var allowedReceipt = (await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{allowedHash}\"]")).GetProperty("result");
        Assert.Equal("0x0", allowedReceipt.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, (await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{revertHash}\"]")).GetProperty("result").ValueKind);

        // The later bundle waits for its own block; builder-a's copy expired with block `target`.
        var next = await sandbox.Network.SealAsync("builder-b");
        Assert.True(next.Bundles.Single().Included);
        Assert.Equal(JsonValueKind.Object, (await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{laterHash}\"]")).GetProperty("result").ValueKind);
        Assert.Equal(0, sandbox.Network.Builder("builder-a")!.PendingCount);
    }

    [Fact]
    public async Task A_bundle_outbid_by_a_same_nonce_mempool_transaction_is_dropped_and_the_competitor_lands()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(withProxy: false);
        var target = await sandbox.HeadAsync() + 1;
        var (mine, mineHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, Tipper, 1000, priorityGwei: 1, maxFeeGwei: 50);
        var (theirs, theirsHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, AnvilNode.DevAddress0, 0, gas: 21000, priorityGwei: 5, maxFeeGwei: 200);
        Assert.Equal(theirsHash, (await SandboxUnderTest.CallAsync(sandbox.NodeUrl("node-a"), "eth_sendRawTransaction", $"[\"{theirs}\"]")).GetProperty("result").GetString());
        await SandboxUnderTest.CallAsync(sandbox.BuilderUrl("builder-c"), "eth_sendBundle", SandboxUnderTest.Bundle(target, mine));

        var block = await sandbox.Network.SealAsync("builder-c");
        Assert.False(block.Bundles.Single().Included);
        Assert.Equal(JsonValueKind.Null, (await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{mineHash}\"]")).GetProperty("result").ValueKind);
        Assert.Equal($"0x{target:x}", (await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{theirsHash}\"]")).GetProperty("result").GetProperty("blockNumber").GetString());
    }

    private static async Task<HttpResponseMessage> PostAsync(string url, byte[] body, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation(FlashbotsSigner.HeaderName, signature);
        }

        return await SandboxUnderTest.Http.SendAsync(request);
    }
}
