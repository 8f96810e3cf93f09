using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Features.Inclusion;

/// <summary>
/// Inclusion tracking against a real anvil chain: the test plays the winning builder by setting
/// anvil's coinbase and mining the bundle's transaction (or a competitor's) into the target block.
/// </summary>
public sealed class InclusionTests
{
    private const string CoinbaseA = "0x00000000000000000000000000000000000000aa";
    private const string CoinbaseB = "0x00000000000000000000000000000000000000bb";
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    private const string Competitor = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

    [Fact]
    public async Task A_bundle_mined_in_its_target_block_is_included_and_credited_to_the_builder_whose_coinbase_built_it()
    {
        await using var setup = await Setup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        var bundleHash = await setup.SendBundleAsync(tx, target);

        await setup.Anvil.CallAsync("anvil_setCoinbase", CoinbaseB);
        var mined = (await setup.Anvil.CallAsync("eth_sendRawTransaction", tx)).GetString();

        var entry = await setup.WaitForBundleAsync();
        Assert.Equal("included", entry.Reason);
        Assert.Equal("included", entry.Outcome); // what `rpcshield report` counts for inclusion rates
        Assert.Equal(target, entry.HeadBlock);
        Assert.Equal("b", entry.Builder);
        Assert.Equal(bundleHash, entry.BundleHash);
        // Our tx hash (keccak of the raw tx) is the hash the node computed.
        Assert.Equal(mined, entry.TxHash);

        var status = await setup.Proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(1, FanoutTests.Builder(status, "b").GetProperty("included").GetInt64());
        Assert.Equal(1.0, FanoutTests.Builder(status, "b").GetProperty("inclusion_rate").GetDouble());
        Assert.Equal(0, FanoutTests.Builder(status, "a").GetProperty("included").GetInt64());
        var metrics = await setup.Proxy.Client.GetStringAsync("/metrics");
        Assert.Contains("rpcshield_bundle_outcomes_total{chain=\"test\",builder=\"b\",outcome=\"included\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_whose_nonce_a_competitor_used_in_the_target_block_is_lost()
    {
        await using var setup = await Setup.StartAsync();
        var mine = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1000);
        var theirs = SignedTx.Transfer(AnvilNode.DevKey0, 0, Competitor, 5000, maxFeeGwei: 200);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        await setup.SendBundleAsync(mine, target);

        await setup.Anvil.CallAsync("anvil_setCoinbase", CoinbaseA);
        var competitorHash = (await setup.Anvil.CallAsync("eth_sendRawTransaction", theirs)).GetString();

        var entry = await setup.WaitForBundleAsync();
        Assert.Equal("lost", entry.Reason);
        Assert.Equal("a", entry.Builder);
        Assert.Equal(competitorHash, entry.CompetitorTx);
        var status = await setup.Proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(1, FanoutTests.Builder(status, "a").GetProperty("lost").GetInt64());
        Assert.Equal(0.0, FanoutTests.Builder(status, "a").GetProperty("inclusion_rate").GetDouble());
    }

    [Fact]
    public async Task A_bundle_whose_nonce_a_competitor_used_in_an_earlier_block_is_lost_too()
    {
        await using var setup = await Setup.StartAsync();
        var mine = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1000);
        var theirs = SignedTx.Transfer(AnvilNode.DevKey0, 0, Competitor, 5000, maxFeeGwei: 200);
        var target = await setup.Anvil.BlockNumberAsync() + 2;
        await setup.SendBundleAsync(mine, target);

        await setup.Anvil.CallAsync("anvil_setCoinbase", CoinbaseB);
        await setup.Anvil.CallAsync("eth_sendRawTransaction", theirs);
        await setup.WaitForAnvilBlockAsync(target - 1);
        await setup.Anvil.MineAsync(1);

        var entry = await setup.WaitForBundleAsync();
        Assert.Equal("lost", entry.Reason);
        Assert.Equal(target, entry.HeadBlock);
        Assert.Equal("b", entry.Builder);
        // Not in the target block: found by the sender's nonce at that block, so no competitor hash.
        Assert.Null(entry.CompetitorTx);
    }

    [Fact]
    public async Task A_bundle_absent_from_a_block_built_by_an_unknown_builder_is_not_included_and_labelled_other()
    {
        await using var setup = await Setup.StartAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1000);
        var target = await setup.Anvil.BlockNumberAsync() + 1;
        await setup.SendBundleAsync(tx, target);

        await setup.Anvil.CallAsync("anvil_setCoinbase", "0x00000000000000000000000000000000000000cc");
        await setup.Anvil.MineAsync(1);

        var entry = await setup.WaitForBundleAsync();
        Assert.Equal("not_included", entry.Reason);
        Assert.Equal("other", entry.Builder);
        Assert.Null(entry.CompetitorTx);
        var metrics = await setup.Proxy.Client.GetStringAsync("/metrics");
        Assert.Contains("rpcshield_bundle_outcomes_total{chain=\"test\",builder=\"other\",outcome=\"not_included\"} 1", metrics, StringComparison.Ordinal);
    }

    private sealed class CapturingJournal : IFailureJournal
    {
        public ConcurrentQueue<JournalEntry> Entries { get; } = new();

        public void Record(JournalEntry entry) => Entries.Enqueue(entry);
    }

    private sealed class Setup : IAsyncDisposable
    {
        private readonly FakeBuilder _a;
        private readonly FakeBuilder _b;

        private Setup(AnvilNode anvil, FakeBuilder a, FakeBuilder b, ProxyUnderTest proxy, CapturingJournal journal)
        {
            Anvil = anvil;
            _a = a;
            _b = b;
            Proxy = proxy;
            Journal = journal;
        }

        public AnvilNode Anvil { get; }

        public ProxyUnderTest Proxy { get; }

        public CapturingJournal Journal { get; }

        public static async Task<Setup> StartAsync()
        {
            var anvil = await AnvilNode.StartAsync();
            var a = await FakeBuilder.StartAsync(requireSignature: true);
            var b = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
            var journal = new CapturingJournal();
            var proxy = await ProxyUnderTest.StartAsync(
                FanoutTests.Config(anvil.Url, [
                    $"{{ name: a, url: \"{a.Url}\", sign: true, coinbase: \"{CoinbaseA}\" }}",
                    $"{{ name: b, url: \"{b.Url}\", extra_data: \"never-matches\", coinbase: \"{CoinbaseB}\" }}"]),
                FanoutTests.Env,
                services: s => s.AddSingleton<IFailureJournal>(journal));
            await FanoutTests.WaitForHeadAsync(proxy);
            return new Setup(anvil, a, b, proxy, journal);
        }

        public async Task<string> SendBundleAsync(string tx, long target)
        {
            using var response = await Proxy.Client.PostAsync("/", FailoverTests.Json(FanoutTests.Bundle([tx], target, 1)));
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(json.TryGetProperty("result", out var result), json.ToString());
            return result.GetProperty("bundleHash").GetString()!;
        }

        /// <summary>anvil's automine can finish the block just after eth_sendRawTransaction returns.</summary>
        public async Task WaitForAnvilBlockAsync(long number)
        {
            for (var i = 0; i < 100 && await Anvil.BlockNumberAsync() < number; i++)
            {
                await Task.Delay(20);
            }

            Assert.Equal(number, await Anvil.BlockNumberAsync());
        }

        public async Task<JournalEntry> WaitForBundleAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                if (Journal.Entries.FirstOrDefault(e => e.Kind == "bundle") is { } entry)
                {
                    return entry;
                }

                await Task.Delay(100);
            }

            Assert.Fail("no bundle outcome within 15 s; journal: " + string.Join("; ", Journal.Entries.Select(e => $"{e.Kind}:{e.Builder}:{e.Reason}")));
            return null!;
        }

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            await _a.DisposeAsync();
            await _b.DisposeAsync();
            await Anvil.DisposeAsync();
        }
    }
}
