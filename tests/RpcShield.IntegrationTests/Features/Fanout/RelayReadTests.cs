using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;
using RpcShield.IntegrationTests.Sandbox;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>eth_callBundle and bundle/user stats go to one builder whose profile serves them, never to the nodes.</summary>
public sealed class RelayReadTests
{
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    private const string BotAuthKey = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

    private const string CallBundleResult = """{"bundleGasPrice":"2000000000","bundleHash":"0x1111111111111111111111111111111111111111111111111111111111111111","coinbaseDiff":"42000000000000","ethSentToCoinbase":"0","gasFees":"42000000000000","results":[{"coinbaseDiff":"42000000000000","ethSentToCoinbase":"0","fromAddress":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","gasFees":"42000000000000","gasPrice":"2000000000","gasUsed":21000,"toAddress":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","txHash":"0x2222222222222222222222222222222222222222222222222222222222222222","value":"0x"}],"stateBlockNumber":5,"totalGasUsed":21000}""";

    [Fact]
    public async Task A_new_user_with_an_ethers_provider_bundle_shaped_client_simulates_sends_and_reads_stats_through_rpcshield()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var relay = await FakeBuilder.StartAsync(requireSignature: true);
        await using var second = await FakeBuilder.StartAsync(requireSignature: true);
        await using var titan = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
        relay.ReadResults["eth_callBundle"] = CallBundleResult;
        relay.ReadResults["flashbots_getBundleStatsV2"] = """{"isHighPriority":true,"isSimulated":true,"simulatedAt":"2026-12-03T19:00:00.000Z","receivedAt":"2026-12-03T19:00:00.000Z","consideredByBuildersAt":[],"sealedByBuildersAt":[]}""";
        relay.ReadResults["flashbots_getUserStatsV2"] = """{"isHighPriority":true,"allTimeValidatorPayments":"0","allTimeGasSimulated":"21000","last7dValidatorPayments":"0","last7dGasSimulated":"21000","last1dValidatorPayments":"0","last1dGasSimulated":"21000"}""";
        await using var proxy = await ProxyUnderTest.StartAsync(
            FanoutTests.Config(anvil.Url, [$"{{ name: flashbots, profile: flashbots, url: \"{relay.Url}\" }}", $"{{ name: flashbots-2, profile: flashbots, url: \"{second.Url}\" }}", $"{{ name: titan, profile: titan, url: \"{titan.Url}\" }}"], grace: "3s"),
            FanoutTests.Env);
        await FanoutTests.WaitForHeadAsync(proxy);

        var client = new FlashbotsBundleClient(proxy.Client, BotAuthKey);
        var block = await client.GetBlockNumberAsync();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);

        var simulation = await client.SimulateAsync([tx], block + 1);
        Assert.Equal(21000, simulation.GetProperty("totalGasUsed").GetInt64());
        Assert.DoesNotContain(simulation.GetProperty("results").EnumerateArray(), r => r.TryGetProperty("revert", out _) || r.TryGetProperty("error", out _));

        var bundleHash = await client.SendRawBundleAsync([tx], block + 1);
        var bundleStats = await client.GetBundleStatsV2Async(bundleHash, block + 1);
        Assert.True(bundleStats.GetProperty("isSimulated").GetBoolean());
        var userStats = await client.GetUserStatsV2Async(block);
        Assert.Equal("21000", userStats.GetProperty("allTimeGasSimulated").GetString());

        // Reads went to the first builder serving them only: not fanned out, not to titan (whose profile does not serve them).
        Assert.Equal("eth_callBundle,eth_sendBundle,flashbots_getBundleStatsV2,flashbots_getUserStatsV2", string.Join(",", relay.Requests.Select(r => r.Method)));
        Assert.Equal("eth_sendBundle", string.Join(",", second.Requests.Select(r => r.Method)));
        Assert.Equal("eth_sendBundle", string.Join(",", titan.Requests.Select(r => r.Method)));
        // Bundle and stats are signed with the same key (RpcShield's, as `sign` is the profile's default), so the relay can match them.
        Assert.All(relay.Requests, r => Assert.Equal(FanoutTests.SignerAddress, r.Signer, ignoreCase: true));

        var metrics = await proxy.Client.GetStringAsync("/metrics");
        Assert.Contains("rpcshield_builder_submissions_total{chain=\"test\",builder=\"flashbots\",method=\"eth_callBundle\",outcome=\"ok\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_down_relay_falls_to_the_next_serving_builder_and_a_simulation_error_is_passed_through()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var relay = await FakeBuilder.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(
            FanoutTests.Config(anvil.Url, [$"{{ name: down, profile: flashbots, url: \"{FakeBuilder.DownUrl()}\" }}", $"{{ name: up, url: \"{relay.Url}\", reads: [eth_callBundle] }}"]),
            FanoutTests.Env);
        await FanoutTests.WaitForHeadAsync(proxy);

        relay.ReadResults["eth_callBundle"] = CallBundleResult;
        var call = """{"jsonrpc":"2.0","id":"sim","method":"eth_callBundle","params":[{"txs":["0x02"],"blockNumber":"0x10","stateBlockNumber":"latest"}]}""";
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(call));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(21000, json.GetProperty("result").GetProperty("totalGasUsed").GetInt64());
        Assert.Equal(["down=error", "up=ok"], response.Headers.GetValues(FanoutHandlerHeader).Single().Split(','));

        // Nobody serving: every serving builder failing is -32095 naming the reason, not the nodes' -32601.
        var stats = """{"jsonrpc":"2.0","id":2,"method":"flashbots_getUserStatsV2","params":[{"blockNumber":"0x10"}]}""";
        var error = (await (await proxy.Client.PostAsync("/", FailoverTests.Json(stats))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(-32095, error.GetProperty("code").GetInt32());
        Assert.Contains("connection_refused", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(relay.Requests, r => r.Method == "flashbots_getUserStatsV2");
    }

    [Fact]
    public async Task The_shipped_sandbox_builders_answer_eth_callBundle_with_a_real_simulation()
    {
        await using var sandbox = await ShippedSandbox.StartAsync(TimeSpan.FromSeconds(1));
        using var http = new HttpClient { BaseAddress = sandbox.Address };
        var nonce = Convert.ToInt64((await CallAsync(http, "eth_getTransactionCount", $"[\"{AnvilNode.DevAddress0}\",\"latest\"]")).GetProperty("result").GetString(), 16);
        var head = Convert.ToInt64((await CallAsync(http, "eth_blockNumber", "[]")).GetProperty("result").GetString(), 16);
        var ok = SignedTx.Transfer(AnvilNode.DevKey0, nonce, Recipient, 1);
        // A call to a contract that always reverts (PUSH1 0 PUSH1 0 REVERT).
        const string Reverter = "0x0000000000000000000000000000000000000bad";
        await sandbox.Network.Anvil.CallAsync("anvil_setCode", $"[\"{Reverter}\",\"0x60006000fd\"]", CancellationToken.None);
        var reverting = new Nethereum.Signer.Transaction1559Signer().SignTransaction(AnvilNode.DevKey0, new Nethereum.Model.Transaction1559(
            31337, nonce + 1, 2_000_000_000, 100_000_000_000, 100_000, Reverter, 0, "0x", []));
        reverting = reverting.StartsWith("0x", StringComparison.Ordinal) ? reverting : "0x" + reverting;

        var simulated = await CallAsync(http, "eth_callBundle", $$"""[{"txs":["{{ok}}"],"blockNumber":"0x{{head + 1:x}}","stateBlockNumber":"latest"}]""");
        Assert.True(simulated.TryGetProperty("result", out var result), simulated.ToString());
        Assert.Equal(21000, result.GetProperty("totalGasUsed").GetInt64());
        var first = Assert.Single(result.GetProperty("results").EnumerateArray());
        Assert.Equal(AnvilNode.DevAddress0, first.GetProperty("fromAddress").GetString(), ignoreCase: true);
        Assert.Equal("0x", first.GetProperty("value").GetString());

        // A bundle whose second transaction reverts: the relay's shape names it with `error` and `revert`.
        var withRevert = await CallAsync(http, "eth_callBundle", $$"""[{"txs":["{{ok}}","{{reverting}}"],"blockNumber":"0x{{head + 1:x}}"}]""");
        Assert.True(withRevert.TryGetProperty("result", out var revertResult), withRevert.ToString());
        var results = revertResult.GetProperty("results");
        Assert.False(results[0].TryGetProperty("error", out _));
        Assert.Equal("execution reverted", results[1].GetProperty("error").GetString());
        Assert.True(results[1].TryGetProperty("revert", out _));

        // Undecodable transactions are the builder's -32602, passed through.
        var invalid = await CallAsync(http, "eth_callBundle", $$"""[{"txs":["0x02"],"blockNumber":"0x{{head + 1:x}}"}]""");
        Assert.True(invalid.TryGetProperty("error", out var invalidError), invalid.ToString());
        Assert.Equal(-32602, invalidError.GetProperty("code").GetInt32());
    }

    private static async Task<JsonElement> CallAsync(HttpClient http, string method, string paramsJson)
    {
        using var response = await http.PostAsync("/", FailoverTests.Json($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{paramsJson}}}"""));
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private const string FanoutHandlerHeader = RpcShield.Features.Fanout.FanoutHandler.BuildersHeader;
}
