using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Sandbox;
using RpcShield.Features.Signing;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>
/// The whole loop on the sandbox: a bot talks only to RpcShield, RpcShield fans bundles out to the
/// sandbox builders, a builder wins the slot and seals the block, and inclusion tracking attributes
/// the outcome (metrics and /status).
/// </summary>
public sealed class SandboxEndToEndTests
{
    [Fact]
    public async Task A_bundle_paying_the_coinbase_lands_in_its_target_block_and_is_attributed_to_the_winning_builder()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromSeconds(1), autoSeal: true);
        var tip = new BigInteger(1_000_000_000_000_000);
        var (raw, txHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, SlotProducer.CoinbaseTipper, tip);

        // Send right after a fresh block, for the next one, through RpcShield (as a bot would).
        long target = 0;
        JsonElement answer = default;
        string? builders = null;
        for (var attempt = 0; attempt < 3 && target == 0; attempt++)
        {
            var head = await WaitForNewHeadAsync(sandbox);
            var (body, _, response) = await sandbox.RpcAsync("eth_sendBundle", SandboxUnderTest.Bundle(head + 1, raw));
            if (body.TryGetProperty("result", out answer))
            {
                target = head + 1;
                builders = response.Headers.TryGetValues("X-RpcShield-Builders", out var values) ? values.Single() : null;
            }
        }

        Assert.True(target > 0, "RpcShield never accepted the bundle");
        Assert.Equal(SandboxBundle.HashOf([raw]), answer.GetProperty("bundleHash").GetString());
        Assert.NotNull(builders);
        Assert.Contains("=ok", builders, StringComparison.Ordinal);

        await SandboxNetworkTests.WaitForStatusAsync(sandbox.Proxy, s => TotalOf(s, "included") + TotalOf(s, "not_included") + TotalOf(s, "lost") >= 1);
        var sealedBlock = sandbox.Network.History.Single(b => b.Number == target);
        var winner = sealedBlock.Builder!;
        Assert.Contains(sealedBlock.Bundles, b => b.Included && b.BundleHash == SandboxBundle.HashOf([raw]));

        var receipt = (await sandbox.RpcAsync("eth_getTransactionReceipt", $"[\"{txHash}\"]")).Body.GetProperty("result");
        Assert.Equal($"0x{target:x}", receipt.GetProperty("blockNumber").GetString());
        Assert.Equal("0x1", receipt.GetProperty("status").GetString());

        var status = await sandbox.Proxy.GetFromJsonAsync<JsonElement>("/status");
        var credited = Builder(status, winner);
        Assert.Equal(1, credited.GetProperty("included").GetInt64());
        Assert.Equal(1.0, credited.GetProperty("inclusion_rate").GetDouble());
        foreach (var other in new[] { "builder-a", "builder-b", "builder-c" }.Where(b => b != winner))
        {
            Assert.Equal(0, Builder(status, other).GetProperty("included").GetInt64());
        }

        var metrics = await sandbox.Proxy.GetStringAsync("/metrics");
        Assert.Contains($"rpcshield_bundle_outcomes_total{{chain=\"test\",builder=\"{winner}\",outcome=\"included\"}} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("rpcshield_builder_submissions_total{chain=\"test\",builder=\"" + winner + "\",method=\"eth_sendBundle\",outcome=\"ok\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_outbid_by_a_same_nonce_competitor_is_lost_and_counted_against_the_block_builder()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync();
        var target = await sandbox.HeadAsync() + 1;
        var (mine, _) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, SlotProducer.CoinbaseTipper, 1_000_000, priorityGwei: 1, maxFeeGwei: 50);
        var (theirs, theirsHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, AnvilNode.DevAddress0, 0, gas: 21000, priorityGwei: 5, maxFeeGwei: 200);

        // The competitor reaches the public mempool through RpcShield first; then our bundle goes to every builder.
        var competitor = await sandbox.RpcAsync("eth_sendRawTransaction", $"[\"{theirs}\"]");
        Assert.Equal(theirsHash, competitor.Body.GetProperty("result").GetString());
        var bundle = await sandbox.RpcAsync("eth_sendBundle", SandboxUnderTest.Bundle(target, mine));
        Assert.True(bundle.Body.TryGetProperty("result", out _), bundle.Body.ToString());

        using (var seal = await sandbox.Proxy.PostAsync("/sandbox/seal?winner=builder-a", null))
        {
            var sealedBlock = await seal.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(target, sealedBlock.GetProperty("block").GetInt64());
            Assert.Equal("builder-a", sealedBlock.GetProperty("builder").GetString());
        }

        await SandboxNetworkTests.WaitForStatusAsync(sandbox.Proxy, s => Builder(s, "builder-a").GetProperty("lost").GetInt64() == 1);
        var status = await sandbox.Proxy.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(0, Builder(status, "builder-a").GetProperty("included").GetInt64());
        Assert.Equal(0.0, Builder(status, "builder-a").GetProperty("inclusion_rate").GetDouble());
        var metrics = await sandbox.Proxy.GetStringAsync("/metrics");
        Assert.Contains("rpcshield_bundle_outcomes_total{chain=\"test\",builder=\"builder-a\",outcome=\"lost\"} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("outcome=\"included\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RpcShield_signs_once_and_every_signature_checking_sandbox_builder_verifies_the_identical_bytes()
    {
        const string key = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        await using var sandbox = await SandboxUnderTest.StartAsync(requireSignature: true, signingKey: key);
        var target = await sandbox.HeadAsync() + 1;
        var (raw, txHash) = SandboxUnderTest.Tx(AnvilNode.DevKey0, 0, SlotProducer.CoinbaseTipper, 1_000_000);
        var (body, _, _) = await sandbox.RpcAsync("eth_sendBundle", SandboxUnderTest.Bundle(target, raw));
        Assert.True(body.TryGetProperty("result", out _), body.ToString());

        // Every builder answers eventually (the bot is answered on the first); wait for all three submissions.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (sandbox.Network.Builders.Any(b => b.Submissions.Count == 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var submissions = sandbox.Network.Builders.Select(b => b.Submissions.Single()).ToArray();
        var signer = new FlashbotsSigner(key).Address;
        Assert.All(submissions, s =>
        {
            Assert.Equal(200, s.Status);
            Assert.Equal(signer, s.Signer, ignoreCase: true);
            Assert.Equal(submissions[0].Body, s.Body);
        });
        Assert.DoesNotContain(key[2..], await sandbox.Proxy.GetStringAsync("/status"), StringComparison.OrdinalIgnoreCase);

        var block = await sandbox.Network.SealAsync("builder-c");
        Assert.True(block.Bundles.Single().Included);
        var receipt = (await sandbox.RpcAsync("eth_getTransactionReceipt", $"[\"{txHash}\"]")).Body.GetProperty("result");
        Assert.Equal($"0x{target:x}", receipt.GetProperty("blockNumber").GetString());
    }

    private static JsonElement Builder(JsonElement status, string name) =>
        status.GetProperty("chains")[0].GetProperty("builders").EnumerateArray().Single(b => b.GetProperty("name").GetString() == name);

    private static long TotalOf(JsonElement status, string field) =>
        status.GetProperty("chains")[0].GetProperty("builders").EnumerateArray().Sum(b => b.GetProperty(field).GetInt64());

    private static async Task<long> WaitForNewHeadAsync(SandboxUnderTest sandbox)
    {
        var start = await sandbox.HeadAsync();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            var head = await sandbox.HeadAsync();
            if (head > start)
            {
                return head;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("the sandbox did not seal a block within 5 s");
    }
}
