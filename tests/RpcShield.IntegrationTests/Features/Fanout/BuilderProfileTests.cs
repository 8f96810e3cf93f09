using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>Builder profiles end to end: RpcShield over a real anvil node, one fake builder per profile.</summary>
public sealed class BuilderProfileTests
{
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    private static readonly string[] Profiles = ["flashbots", "buildernet", "titan", "quasar", "beaverbuild"];

    private static async Task<(AnvilNode Anvil, Dictionary<string, FakeBuilder> Builders, ProxyUnderTest Proxy)> StartAsync(Func<string, string>? extra = null)
    {
        var anvil = await AnvilNode.StartAsync();
        var builders = new Dictionary<string, FakeBuilder>();
        foreach (var profile in Profiles)
        {
            builders[profile] = await FakeBuilder.StartAsync(profile == "titan" ? BuilderBehaviour.AcceptTitanStyle : BuilderBehaviour.Accept);
        }

        var proxy = await ProxyUnderTest.StartAsync(
            FanoutTests.Config(anvil.Url, Profiles.Select(p => $"{{ name: {p}, profile: {p}, url: \"{builders[p].Url}\"{extra?.Invoke(p)} }}"), grace: "3s"),
            FanoutTests.Env);
        await FanoutTests.WaitForHeadAsync(proxy);
        return (anvil, builders, proxy);
    }

    private static async Task StopAsync(AnvilNode anvil, Dictionary<string, FakeBuilder> builders, ProxyUnderTest proxy)
    {
        await proxy.DisposeAsync();
        foreach (var builder in builders.Values)
        {
            await builder.DisposeAsync();
        }

        await anvil.DisposeAsync();
    }

    private static JsonElement Params0(FakeBuilder.Received received)
    {
        using var document = JsonDocument.Parse(received.Body);
        return document.RootElement.GetProperty("params")[0].Clone();
    }

    [Fact]
    public async Task Each_profile_gets_its_dialect_signed_where_it_signs_and_keeps_the_bots_own_fields()
    {
        var (anvil, builders, proxy) = await StartAsync();
        try
        {
            var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
            var block = await anvil.BlockNumberAsync() + 5;
            var body = $$"""{"jsonrpc":"2.0","id":11,"method":"eth_sendBundle","params":[{"txs":["{{tx}}"],"blockNumber":"0x{{block:x}}","refundPercent":80,"builders":["titan","beaverbuild"],"replacementNonce":2,"replacementSeqNumber":5,"futureField":true}]}""";
            using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(body));
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(json.TryGetProperty("result", out var result), json.ToString());
            Assert.StartsWith("0x", result.GetProperty("bundleHash").GetString(), StringComparison.Ordinal);

            var received = builders.ToDictionary(b => b.Key, b => Assert.Single(b.Value.Requests));
            var fields = received.ToDictionary(r => r.Key, r => Params0(r.Value).EnumerateObject().Select(p => p.Name).ToHashSet());
            // Common and unknown fields reach every builder; each dialect field only the builder that takes it.
            Assert.All(fields.Values, f => Assert.Superset(new HashSet<string> { "txs", "blockNumber", "refundPercent", "futureField" }, f));
            Assert.Contains("builders", fields["flashbots"]);
            Assert.Contains("replacementNonce", fields["buildernet"]);
            Assert.Contains("replacementSeqNumber", fields["quasar"]);
            Assert.DoesNotContain("builders", fields["titan"]);
            Assert.DoesNotContain("replacementNonce", fields["titan"]);
            Assert.DoesNotContain("replacementSeqNumber", fields["buildernet"]);
            Assert.Equal(fields["titan"], fields["beaverbuild"]);

            // flashbots, buildernet and titan sign (each its own body, validly); quasar and beaverbuild do not.
            foreach (var signed in new[] { "flashbots", "buildernet", "titan" })
            {
                Assert.True(received[signed].SignatureValid, signed);
                Assert.Equal(FanoutTests.SignerAddress, received[signed].Signer, ignoreCase: true);
            }

            Assert.Null(received["quasar"].Signature);
            Assert.Null(received["beaverbuild"].Signature);

            var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
            var listed = status.GetProperty("chains")[0].GetProperty("builders").EnumerateArray().ToDictionary(b => b.GetProperty("name").GetString()!);
            Assert.Equal("flashbots", listed["flashbots"].GetProperty("profile").GetString());
            Assert.Equal(30, listed["flashbots"].GetProperty("max_rps").GetDouble());
            Assert.Equal("empty_bundle", listed["buildernet"].GetProperty("cancel_style").GetString());
        }
        finally
        {
            await StopAsync(anvil, builders, proxy);
        }
    }

    [Fact]
    public async Task Mev_sendBundle_private_transactions_and_cancels_reach_each_builder_in_its_own_style()
    {
        var (anvil, builders, proxy) = await StartAsync();
        try
        {
            var mev = """{"jsonrpc":"2.0","id":1,"method":"mev_sendBundle","params":[{"version":"v0.1","inclusion":{"block":"0x99"},"body":[{"hash":"0x00"}]}]}""";
            using (await proxy.Client.PostAsync("/", FailoverTests.Json(mev)))
            {
            }

            var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
            using (await proxy.Client.PostAsync("/", FailoverTests.Json($$"""{"jsonrpc":"2.0","id":2,"method":"eth_sendPrivateTransaction","params":[{"tx":"{{tx}}","maxBlockNumber":"0x99"}]}""")))
            {
            }

            using (await proxy.Client.PostAsync("/", FailoverTests.Json("""{"jsonrpc":"2.0","id":3,"method":"eth_cancelBundle","params":[{"replacementUuid":"6f1b2c3d-0000-4000-8000-00000000abcd"}]}""")))
            {
            }

            var methods = builders.ToDictionary(b => b.Key, b => string.Join(",", b.Value.Requests.Select(r => r.Method)));
            Assert.Equal("mev_sendBundle,eth_sendPrivateTransaction,eth_cancelBundle", methods["flashbots"]);
            Assert.Equal("mev_sendBundle,eth_sendRawTransaction,eth_sendBundle", methods["buildernet"]);
            Assert.Equal("eth_sendPrivateTransaction,eth_cancelBundle", methods["titan"]);
            Assert.Equal("eth_cancelBundle", methods["quasar"]);
            Assert.Equal("eth_sendPrivateRawTransaction,eth_sendBundle", methods["beaverbuild"]);

            // The empty-txs resend carries the same replacementUuid.
            var resend = Params0(builders["buildernet"].Requests.Last());
            Assert.Equal(0, resend.GetProperty("txs").GetArrayLength());
            Assert.Equal("6f1b2c3d-0000-4000-8000-00000000abcd", resend.GetProperty("replacementUuid").GetString());
            var raw = builders["buildernet"].Requests.ElementAt(1);
            using var document = JsonDocument.Parse(raw.Body);
            Assert.Equal(tx, document.RootElement.GetProperty("params")[0].GetString());
        }
        finally
        {
            await StopAsync(anvil, builders, proxy);
        }
    }

    [Fact]
    public async Task A_cancel_reaches_exactly_the_builders_that_accepted_the_uuids_bundles_each_in_its_own_style()
    {
        var (anvil, builders, proxy) = await StartAsync();
        try
        {
            const string Uuid = "0c1d2e3f-0000-4000-8000-000000000018";
            var block = await anvil.BlockNumberAsync() + 5;
            builders["titan"].Behaviour = BuilderBehaviour.Forbidden;
            var original = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
            await PostAsync(proxy, $$"""{"jsonrpc":"2.0","id":1,"method":"eth_sendBundle","params":[{"txs":["{{original}}"],"blockNumber":"0x{{block:x}}","replacementUuid":"{{Uuid}}"}]}""");
            builders["titan"].Behaviour = BuilderBehaviour.AcceptTitanStyle;

            // Titan refused the original: neither cancel form reaches it; the others get theirs in their style.
            await PostAsync(proxy, $$"""{"jsonrpc":"2.0","id":2,"method":"eth_cancelBundle","params":[{"replacementUuid":"{{Uuid}}"}]}""");
            await PostAsync(proxy, $$"""{"jsonrpc":"2.0","id":3,"method":"eth_sendBundle","params":[{"txs":[],"replacementUuid":"{{Uuid}}"}]}""");
            var methods = builders.ToDictionary(b => b.Key, b => string.Join(",", b.Value.Requests.Select(r => r.Method)));
            Assert.Equal("eth_sendBundle", methods["titan"]);
            Assert.Equal("eth_sendBundle,eth_cancelBundle,eth_cancelBundle", methods["flashbots"]);
            Assert.Equal("eth_sendBundle,eth_cancelBundle,eth_cancelBundle", methods["quasar"]);
            Assert.Equal("eth_sendBundle,eth_sendBundle,eth_sendBundle", methods["buildernet"]);
            Assert.Equal("eth_sendBundle,eth_sendBundle,eth_sendBundle", methods["beaverbuild"]);
            foreach (var name in new[] { "flashbots", "quasar" })
            {
                var cancel = Params0(builders[name].Requests.Last());
                Assert.Equal(Uuid, cancel.GetProperty("replacementUuid").GetString());
                Assert.False(cancel.TryGetProperty("txs", out _));
            }

            foreach (var name in new[] { "buildernet", "beaverbuild" })
            {
                foreach (var resend in builders[name].Requests.Skip(1).Select(Params0))
                {
                    Assert.Equal(0, resend.GetProperty("txs").GetArrayLength());
                    Assert.Equal(Uuid, resend.GetProperty("replacementUuid").GetString());
                }
            }

            // A replacement goes to every builder; Titan accepts it this time, so the next cancel reaches Titan too.
            var replacement = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 2);
            await PostAsync(proxy, $$"""{"jsonrpc":"2.0","id":4,"method":"eth_sendBundle","params":[{"txs":["{{replacement}}"],"blockNumber":"0x{{block:x}}","replacementUuid":"{{Uuid}}"}]}""");
            await PostAsync(proxy, $$"""{"jsonrpc":"2.0","id":5,"method":"eth_cancelBundle","params":[{"replacementUuid":"{{Uuid}}"}]}""");
            Assert.Equal("eth_sendBundle,eth_sendBundle,eth_cancelBundle", string.Join(",", builders["titan"].Requests.Select(r => r.Method)));
            Assert.Equal("eth_sendBundle,eth_sendBundle,eth_sendBundle,eth_sendBundle,eth_sendBundle", string.Join(",", builders["buildernet"].Requests.Select(r => r.Method)));
        }
        finally
        {
            await StopAsync(anvil, builders, proxy);
        }
    }

    private static async Task PostAsync(ProxyUnderTest proxy, string body)
    {
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(body));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(json.TryGetProperty("error", out var error), error.ToString());
    }

    [Fact]
    public async Task A_builders_own_keys_override_its_profile()
    {
        var (anvil, builders, proxy) = await StartAsync(p => p == "buildernet" ? ", cancel_style: method, drop_fields: [], sign: false" : "");
        try
        {
            using (await proxy.Client.PostAsync("/", FailoverTests.Json("""{"jsonrpc":"2.0","id":3,"method":"eth_cancelBundle","params":[{"replacementUuid":"6f1b2c3d-0000-4000-8000-00000000abcd"}]}""")))
            {
            }

            var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
            var block = await anvil.BlockNumberAsync() + 5;
            using (await proxy.Client.PostAsync("/", FailoverTests.Json($$"""{"jsonrpc":"2.0","id":4,"method":"eth_sendBundle","params":[{"txs":["{{tx}}"],"blockNumber":"0x{{block:x}}","builders":["x"]}]}""")))
            {
            }

            var requests = builders["buildernet"].Requests.ToArray();
            Assert.Equal("eth_cancelBundle,eth_sendBundle", string.Join(",", requests.Select(r => r.Method)));
            Assert.True(Params0(requests[1]).TryGetProperty("builders", out _));
            Assert.Null(requests[1].Signature);
        }
        finally
        {
            await StopAsync(anvil, builders, proxy);
        }
    }
}
