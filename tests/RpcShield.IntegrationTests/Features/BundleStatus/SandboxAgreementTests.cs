using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Sandbox;
using RpcShield.Sandbox;
using Xunit.Abstractions;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// RpcShield's reasons against the sandbox's truth: the sandbox builders record their own verdict on
/// every bundle (`GET /sandbox/builders/{name}/verdicts`); the truth for a bundle is the verdict of
/// the builder that won its block (or not_selected when the winner never had it). Bundles are staged
/// to miss in different ways (reverting, not eligible, nonce taken, cancelled) among ones that land.
/// </summary>
public sealed class SandboxAgreementTests(ITestOutputHelper output)
{
    private const string Reverter = "0x00000000000000000000000000000000000000ee";

    [Fact]
    public async Task At_least_90_percent_of_the_bundles_that_did_not_land_get_the_reason_the_sandbox_builder_gave()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync();
        await sandbox.AnvilAsync("anvil_setCode", $"[\"{Reverter}\",\"0x60006000fd\"]");
        var staged = new List<(string Hash, long Target, string Kind)>();
        string[] kinds = ["reverted", "not_selected", "nonce_taken", "cancelled", "included"];
        for (var round = 0; round < 15; round++)
        {
            var kind = kinds[round % kinds.Length];
            var head = await sandbox.HeadAsync();
            await Rpc.WaitUntilAsync(async () => Convert.ToInt64((await sandbox.RpcAsync("eth_blockNumber")).Body.GetProperty("result").GetString(), 16) >= head, "RpcShield to see the head");
            var target = head + 1;
            var nonce = Convert.ToInt64((await sandbox.AnvilAsync("eth_getTransactionCount", $"[\"{AnvilNode.DevAddress0}\",\"latest\"]")).GetProperty("result").GetString(), 16);
            var (raw, _) = kind == "reverted"
                ? SandboxUnderTest.Tx(AnvilNode.DevKey0, nonce, Reverter, 0)
                : SandboxUnderTest.Tx(AnvilNode.DevKey0, nonce, SlotProducer.CoinbaseTipper, 1_000_000 + round);
            var extra = kind switch
            {
                "not_selected" => ",\"minTimestamp\":4102444800", // not eligible before 2100: the builder keeps it out
                "cancelled" => $",\"replacementUuid\":\"00000000-0000-4000-8000-{round:x12}\"",
                _ => "",
            };
            if (kind == "nonce_taken")
            {
                var (competitor, _) = SandboxUnderTest.Tx(AnvilNode.DevKey0, nonce, AnvilNode.DevAddress0, 0, gas: 21000, priorityGwei: 5, maxFeeGwei: 200);
                await sandbox.AnvilAsync("eth_sendRawTransaction", $"[\"{competitor}\"]");
            }

            var sent = await sandbox.RpcAsync("eth_sendBundle", $"[{{\"txs\":[\"{raw}\"],\"blockNumber\":\"0x{target:x}\"{extra}}}]");
            Assert.True(sent.Body.TryGetProperty("result", out var result), sent.Body.ToString());
            var hash = result.GetProperty("bundleHash").GetString()!;
            if (kind == "cancelled")
            {
                var cancel = await sandbox.RpcAsync("eth_cancelBundle", $"[{{\"replacementUuid\":\"00000000-0000-4000-8000-{round:x12}\"}}]");
                Assert.True(cancel.Body.TryGetProperty("result", out _), cancel.Body.ToString());
            }

            await sandbox.Network.SealAsync("builder-a");
            staged.Add((hash, target, kind));
        }

        var rows = new List<(string Kind, string Ours, string Truth)>();
        foreach (var (hash, target, kind) in staged)
        {
            JsonElement status = default;
            await Rpc.WaitUntilAsync(async () =>
            {
                status = (await sandbox.RpcAsync("rpcshield_getBundleStatus", $"[\"{hash}\",\"0x{target:x}\"]")).Body.GetProperty("result");
                return status.GetProperty("state").GetString() != "pending"
                       && (status.GetProperty("state").GetString() != "cancelled" || await JudgedAtBlockAsync(sandbox, target));
            }, $"bundle {hash} judged");
            var truth = await TruthAsync(sandbox, hash, target);
            var ours = status.GetProperty("state").GetString() == "included" ? "included" : status.GetProperty("reason").GetString()!;
            rows.Add((kind, ours, truth));
            output.WriteLine($"{kind,-13} rpcshield={ours,-13} sandbox={truth,-13} {status.GetProperty("detail")}");
        }

        var missed = rows.Where(r => r.Truth != "included").ToList();
        var agreed = missed.Count(r => r.Ours == r.Truth);
        output.WriteLine($"agreement: {agreed} of {missed.Count} bundles that did not land");
        Assert.True(missed.Count >= 10, $"only {missed.Count} bundles missed");
        Assert.True(agreed >= 0.9 * missed.Count, $"only {agreed} of {missed.Count} agree");
        Assert.All(rows.Where(r => r.Truth == "included"), r => Assert.Equal("included", r.Ours));
    }

    /// <summary>The tracker has judged the block (a cancelled bundle is cancelled before and after).</summary>
    private static async Task<bool> JudgedAtBlockAsync(SandboxUnderTest sandbox, long target) =>
        Convert.ToInt64((await sandbox.RpcAsync("eth_blockNumber")).Body.GetProperty("result").GetString(), 16) >= target;

    /// <summary>The winning builder's verdict on the bundle, or not_selected when the winner never had it.</summary>
    private static async Task<string> TruthAsync(SandboxUnderTest sandbox, string hash, long target)
    {
        var winner = sandbox.Network.History.Single(b => b.Number == target).Builder!;
        var verdicts = await sandbox.Proxy.GetFromJsonAsync<JsonElement>($"/sandbox/builders/{winner}/verdicts");
        foreach (var verdict in verdicts.EnumerateArray())
        {
            if (verdict.GetProperty("bundle_hash").GetString() == hash && verdict.GetProperty("block").GetInt64() == target)
            {
                return verdict.GetProperty("verdict").GetString()!;
            }
        }

        return "not_selected";
    }
}
