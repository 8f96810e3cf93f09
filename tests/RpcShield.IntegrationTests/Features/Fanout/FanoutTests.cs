using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RpcShield.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;
using RpcShield.Features.Signing;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>RpcShield in front of a real anvil node and three builders on real Kestrel listeners.</summary>
public sealed class FanoutTests
{
    internal const string SigningKey = "0xfad9c8855b740a0b7ed4c221dbad0f33a83a49cad6b3fe8d5817ac83d38b6a19";
    internal const string SignerAddress = "0x96216849c49358B10257cb55b28eA603c874b05E";
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    internal static string Config(string anvilUrl, IEnumerable<string> builders, string grace = "0s") => Config([("node", anvilUrl)], builders, grace);

    internal static string Config(IEnumerable<(string Name, string Url)> upstreams, IEnumerable<string> builders, string grace = "0s") => Yaml.Chain(
        upstreams,
        extraChain: "    builders:\n" + string.Join("\n", builders.Select(b => "      - " + b)),
        extraRouting: $"      fanout_grace: {grace}",
        extraTop: "signing: { flashbots_key: \"${FLASHBOTS_SIGNING_KEY}\" }");

    internal static string? Env(string name) => name == "FLASHBOTS_SIGNING_KEY" ? SigningKey : null;

    internal static string Bundle(string[] txs, long block, object id) =>
        $$"""{"jsonrpc":"2.0","id":{{JsonSerializer.Serialize(id)}},"method":"eth_sendBundle","params":[{"txs":[{{string.Join(',', txs.Select(t => $"\"{t}\""))}}],"blockNumber":"0x{{block:x}}","refundPercent":90}]}""";

    internal static async Task WaitForHeadAsync(ProxyUnderTest proxy) =>
        await FailoverTests.WaitForAsync(proxy, s => s.GetProperty("chains")[0].GetProperty("head").GetInt64() >= 0);

    [Fact]
    public async Task Every_builder_gets_the_identical_bytes_signed_once_with_a_valid_signature()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var a = await FakeBuilder.StartAsync(requireSignature: true);
        await using var b = await FakeBuilder.StartAsync(requireSignature: true);
        await using var c = await FakeBuilder.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(
            Config(anvil.Url, [$"{{ name: a, url: \"{a.Url}\", sign: true }}", $"{{ name: b, url: \"{b.Url}\", sign: true }}", $"{{ name: c, url: \"{c.Url}\" }}"], grace: "2s"),
            Env);
        await WaitForHeadAsync(proxy);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        var body = Bundle([tx], await anvil.BlockNumberAsync() + 5, "bundle-1");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = FailoverTests.Json(body) };
        request.Headers.Add(FlashbotsSigner.HeaderName, "0x0000000000000000000000000000000000000001:0xclient");
        using var response = await proxy.Client.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        var expectedHash = BundleSubmission.Hex(BundleSubmission.BundleHash([Convert.FromHexString(tx[2..])]));
        Assert.Equal("bundle-1", json.GetProperty("id").GetString());
        Assert.Equal(expectedHash, json.GetProperty("result").GetProperty("bundleHash").GetString());
        var header = response.Headers.GetValues(FanoutHandler.BuildersHeader).Single();
        Assert.Equal(["a=ok", "b=ok", "c=ok"], header.Split(',').Order());

        var sent = Encoding.UTF8.GetBytes(body);
        foreach (var builder in new[] { a, b })
        {
            var received = Assert.Single(builder.Requests);
            Assert.Equal(sent, received.Body);
            Assert.True(received.SignatureValid);
            Assert.Equal(SignerAddress, received.Signer, ignoreCase: true);
        }

        // Both signed builders got the same header: computed once for the request, not per builder.
        Assert.Equal(a.Requests.Single().Signature, b.Requests.Single().Signature);
        // A builder without `sign` gets the bot's own signature untouched.
        var unsigned = Assert.Single(c.Requests);
        Assert.Equal(sent, unsigned.Body);
        Assert.Equal("0x0000000000000000000000000000000000000001:0xclient", unsigned.Signature);
    }

    [Fact]
    public async Task A_down_builder_and_a_slow_one_do_not_hold_the_bot_and_the_header_names_each_outcome()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var fast = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
        await using var slow = await FakeBuilder.StartAsync(BuilderBehaviour.Hang);
        await using var proxy = await ProxyUnderTest.StartAsync(
            Config(anvil.Url, [$"{{ name: fast, url: \"{fast.Url}\", timeout: 2s }}", $"{{ name: down, url: \"{FakeBuilder.DownUrl()}\", timeout: 2s }}", $"{{ name: slow, url: \"{slow.Url}\", timeout: 400ms }}"], grace: "5s"),
            Env);
        await WaitForHeadAsync(proxy);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        var stopwatch = Stopwatch.StartNew();
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Bundle([tx], await anvil.BlockNumberAsync() + 3, 7)));
        stopwatch.Stop();
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(json.TryGetProperty("result", out var result), json.ToString());
        Assert.StartsWith("0x", result.GetProperty("bundleHash").GetString(), StringComparison.Ordinal);
        var outcomes = response.Headers.GetValues(FanoutHandler.BuildersHeader).Single().Split(',').Order().ToArray();
        Assert.Equal(["down=error", "fast=ok", "slow=timeout"], outcomes);
        // Bounded by the slow builder's 400 ms timeout, not by its 30 s hang nor the 5 s grace.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(4), $"answered after {stopwatch.Elapsed}");

        var metrics = await proxy.Client.GetStringAsync("/metrics");
        Assert.Contains("rpcshield_builder_submissions_total{chain=\"test\",builder=\"slow\",method=\"eth_sendBundle\",outcome=\"timeout\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("rpcshield_builder_submissions_total{chain=\"test\",builder=\"down\",method=\"eth_sendBundle\",outcome=\"error\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("rpcshield_builder_submissions_total{chain=\"test\",builder=\"fast\",method=\"eth_sendBundle\",outcome=\"ok\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_grace_the_bot_is_answered_at_the_first_success_and_late_builders_are_still_recorded()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var fast = await FakeBuilder.StartAsync();
        await using var slow = await FakeBuilder.StartAsync(BuilderBehaviour.Hang);
        await using var proxy = await ProxyUnderTest.StartAsync(
            Config(anvil.Url, [$"{{ name: fast, url: \"{fast.Url}\" }}", $"{{ name: slow, url: \"{slow.Url}\", timeout: 1500ms }}"]),
            Env);
        await WaitForHeadAsync(proxy);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Bundle([tx], await anvil.BlockNumberAsync() + 3, 1)));
        Assert.Equal("fast=ok", response.Headers.GetValues(FanoutHandler.BuildersHeader).Single());
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("result", out _));

        // The slow builder finishes in the background and is still counted.
        await FailoverTests.WaitForAsync(proxy, s => Builder(s, "slow").GetProperty("timeout").GetInt64() == 1);
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(1.0, Builder(status, "fast").GetProperty("success_rate").GetDouble());
        Assert.Equal(0.0, Builder(status, "slow").GetProperty("success_rate").GetDouble());
    }

    [Fact]
    public async Task Every_builder_failing_gives_minus_32095_with_each_outcome()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var forbidden = await FakeBuilder.StartAsync(BuilderBehaviour.Forbidden);
        await using var html = await FakeBuilder.StartAsync(BuilderBehaviour.BadGatewayHtml);
        await using var limited = await FakeBuilder.StartAsync(BuilderBehaviour.RateLimited);
        await using var proxy = await ProxyUnderTest.StartAsync(
            Config(anvil.Url, [$"{{ name: down, url: \"{FakeBuilder.DownUrl()}\" }}", $"{{ name: relay, url: \"{forbidden.Url}\" }}", $"{{ name: sim, url: \"{html.Url}\" }}", $"{{ name: busy, url: \"{limited.Url}\" }}"]),
            Env);
        await WaitForHeadAsync(proxy);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Bundle([tx], await anvil.BlockNumberAsync() + 3, 9)));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        var error = json.GetProperty("error");
        Assert.Equal(-32095, error.GetProperty("code").GetInt32());
        Assert.Equal(9, json.GetProperty("id").GetInt32());
        var builders = error.GetProperty("data").GetProperty("builders").EnumerateArray()
            .ToDictionary(b => b.GetProperty("builder").GetString()!, b => (Outcome: b.GetProperty("outcome").GetString(), Reason: b.GetProperty("reason").GetString()));
        Assert.Equal("error", builders["down"].Outcome);
        Assert.Equal("connection_refused", builders["down"].Reason);
        Assert.Equal(("error", "http_403 error in signature check 0x0000"), builders["relay"]);
        Assert.Equal(("error", "http_502 html"), builders["sim"]);
        Assert.Equal("throttled", builders["busy"].Outcome);
        Assert.Equal(["busy=throttled", "down=error", "relay=error", "sim=error"], response.Headers.GetValues(FanoutHandler.BuildersHeader).Single().Split(',').Order());
        // Client libraries often show only the message: it names a reason, not only a count.
        Assert.StartsWith("Every builder failed (4): most common reason '", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("(1 of 4)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_for_the_block_the_bot_was_just_answered_as_the_head_is_rejected_before_any_builder_sees_it()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var builder = await FakeBuilder.StartAsync();
        // Probes and head polls hourly: the tracked head stays at the start-up probe's answer.
        var yaml = Config(anvil.Url, [$"{{ name: a, url: \"{builder.Url}\" }}"])
            .Replace("interval: 200ms", "interval: 1h", StringComparison.Ordinal)
            .Replace("      fanout_grace: 0s", "      fanout_grace: 0s\n      consistency: { head_poll: 1h }", StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, Env);
        await WaitForHeadAsync(proxy);

        // The chain moves on; the bot asks for the head through RpcShield and targets that very block.
        await anvil.MineAsync(3);
        var served = Convert.ToInt64((await Rpc.CallAsync(proxy, "eth_blockNumber")).Result.GetString(), 16);
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Bundle([tx], served, 4)));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(-32602, error.GetProperty("code").GetInt32());
        Assert.Contains($"targets block {served}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(builder.Requests);
    }

    [Fact]
    public async Task A_bundle_for_a_past_block_is_rejected_before_any_builder_sees_it()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await anvil.MineAsync(5);
        await using var builder = await FakeBuilder.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(anvil.Url, [$"{{ name: a, url: \"{builder.Url}\" }}"]), Env);
        await FailoverTests.WaitForAsync(proxy, s => s.GetProperty("chains")[0].GetProperty("head").GetInt64() >= 5);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Bundle([tx], 5, 3)));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(-32602, error.GetProperty("code").GetInt32());
        Assert.Contains("targets block 5", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(builder.Requests);
    }

    [Fact]
    public async Task A_cancel_goes_as_eth_cancelBundle_or_as_an_empty_bundle_per_builder_and_max_rps_throttles()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var method = await FakeBuilder.StartAsync(requireSignature: true);
        await using var empty = await FakeBuilder.StartAsync(requireSignature: true);
        await using var proxy = await ProxyUnderTest.StartAsync(
            Config(anvil.Url, [$"{{ name: m, url: \"{method.Url}\", sign: true, max_rps: 0.01 }}", $"{{ name: e, url: \"{empty.Url}\", sign: true, cancel_style: empty_bundle }}"], grace: "2s"),
            Env);
        await WaitForHeadAsync(proxy);

        const string cancel = """{"jsonrpc":"2.0","id":4,"method":"eth_cancelBundle","params":[{"replacementUuid":"4b1c0bd6-2d4f-4c5e-9b7a-7a4c9e2f1a01"}]}""";
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(cancel));
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("result", out _));

        var asMethod = Assert.Single(method.Requests);
        Assert.Equal(cancel, Encoding.UTF8.GetString(asMethod.Body));
        Assert.True(asMethod.SignatureValid);
        var asEmpty = Assert.Single(empty.Requests);
        Assert.Equal("eth_sendBundle", asEmpty.Method);
        Assert.True(asEmpty.SignatureValid);
        using (var document = JsonDocument.Parse(asEmpty.Body))
        {
            var bundle = document.RootElement.GetProperty("params")[0];
            Assert.Equal(0, bundle.GetProperty("txs").GetArrayLength());
            Assert.Equal("4b1c0bd6-2d4f-4c5e-9b7a-7a4c9e2f1a01", bundle.GetProperty("replacementUuid").GetString());
            Assert.Equal(4, document.RootElement.GetProperty("id").GetInt32());
        }

        // max_rps: 0.01 = a burst of 1 and one token per 100 s: a second submission is throttled locally.
        using var again = await proxy.Client.PostAsync("/", FailoverTests.Json(cancel));
        Assert.Contains("m=throttled", again.Headers.GetValues(FanoutHandler.BuildersHeader).Single(), StringComparison.Ordinal);
        Assert.Single(method.Requests);
    }

    internal static JsonElement Builder(JsonElement status, string name) =>
        status.GetProperty("chains")[0].GetProperty("builders").EnumerateArray().Single(b => b.GetProperty("name").GetString() == name);
}
