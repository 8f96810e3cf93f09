using System.Text;
using System.Text.Json;
using RpcShield.Configuration;
using RpcShield.Features.Fanout;

namespace RpcShield.Tests.Features.Fanout;

public sealed class BuilderProfileTests
{
    private static BuilderSettings Settings(string profile, Func<BuilderOptions, BuilderOptions>? configure = null)
    {
        var options = new BuilderOptions { Name = profile, Url = "http://127.0.0.1:1", Profile = profile };
        return BuilderSettings.Resolve(configure is null ? options : configure(options));
    }

    private static (BuilderBodies Bodies, byte[] Original) Bodies(string method, string paramsJson)
    {
        var original = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":"bot-7","method":"{{method}}","params":{{paramsJson}}}""");
        var submission = BundleSubmission.Parse(method, Encoding.UTF8.GetBytes(paramsJson), out var error)!;
        Assert.Null(error);
        return (new BuilderBodies(original, method, submission, "\"bot-7\""u8.ToArray()), original);
    }

    private static readonly string Tx = "0x" + Convert.ToHexStringLower(TestTransactions.Eip1559(TestTransactions.Key0, 0, TestTransactions.Address1, 1));

    [Fact]
    public void Profiles_carry_the_documented_dialects()
    {
        Assert.Equal(("eth_cancelBundle", true, "bundle_hash", 30.0), (Settings("flashbots").SentMethod("eth_cancelBundle"), Settings("flashbots").Sign, Settings("flashbots").ResultShape, Settings("flashbots").MaxRps));
        Assert.Equal("eth_sendBundle", Settings("buildernet").SentMethod("eth_cancelBundle"));
        Assert.Equal("eth_sendRawTransaction", Settings("buildernet").SentMethod("eth_sendPrivateTransaction"));
        Assert.Equal(100.0, Settings("buildernet").MaxRps);
        Assert.Equal("status_code", Settings("titan").ResultShape);
        Assert.False(Settings("quasar").Sign);
        Assert.Null(Settings("quasar").SentMethod("eth_sendPrivateRawTransaction"));
        Assert.Equal("eth_sendPrivateRawTransaction", Settings("beaverbuild").SentMethod("eth_sendPrivateTransaction"));
        // mev_sendBundle only where the profile takes it; custom takes every fan-out method as sent.
        Assert.Equal<string[]>(["flashbots", "buildernet", "custom"], [.. BuilderProfile.Names.Where(p => Settings(p).SentMethod("mev_sendBundle") is not null)]);
        Assert.True(Settings("flashbots").ServesRead("flashbots_getBundleStatsV2"));
        Assert.True(Settings("titan").ServesRead("titan_getBundleStats"));
        Assert.False(Settings("custom").ServesRead("eth_callBundle"));
    }

    [Fact]
    public void Every_default_is_overridden_by_the_builders_own_key()
    {
        var settings = Settings("buildernet", o => o with
        {
            Sign = false,
            CancelStyle = "method",
            MaxRps = 0,
            ResultShape = "any",
            SignatureHeader = "X-BuilderNet-Signature",
            DropFields = [],
            Reads = ["eth_callBundle"],
            Methods = ["eth_sendBundle", "eth_cancelBundle"],
        });

        Assert.False(settings.Sign);
        Assert.Equal("eth_cancelBundle", settings.SentMethod("eth_cancelBundle"));
        Assert.Null(settings.SentMethod("mev_sendBundle"));
        Assert.Equal((0.0, "any", "X-BuilderNet-Signature"), (settings.MaxRps, settings.ResultShape, settings.SignatureHeader));
        Assert.Empty(settings.DropFields);
        Assert.True(settings.ServesRead("eth_callBundle"));
    }

    [Fact]
    public void Each_dialect_gets_its_fields_and_builders_of_one_dialect_share_one_body()
    {
        var (bodies, original) = Bodies("eth_sendBundle", $$$"""[{"txs":["{{{Tx}}}"],"blockNumber":"0x10","refundPercent":90,"builders":["titan"],"replacementNonce":3,"replacementSeqNumber":4,"someFutureField":{"x":1}}]""");

        var (flashbots, _) = bodies.For(Settings("flashbots"));
        var (buildernet, _) = bodies.For(Settings("buildernet"));
        var (titan, _) = bodies.For(Settings("titan"));
        var (beaver, _) = bodies.For(Settings("beaverbuild"));
        var (quasar, _) = bodies.For(Settings("quasar"));
        var (custom, _) = bodies.For(Settings("custom"));

        Assert.Same(original, custom);
        Assert.Equal<string[]>(["txs", "blockNumber", "refundPercent", "builders", "someFutureField"], Fields(flashbots));
        Assert.Equal<string[]>(["txs", "blockNumber", "refundPercent", "replacementNonce", "someFutureField"], Fields(buildernet));
        Assert.Equal<string[]>(["txs", "blockNumber", "refundPercent", "replacementSeqNumber", "someFutureField"], Fields(quasar));
        Assert.Equal<string[]>(["txs", "blockNumber", "refundPercent", "someFutureField"], Fields(titan));
        // Same dialect, same instance: SignatureCache signs it once.
        Assert.Same(titan, beaver);
        using var document = JsonDocument.Parse(titan);
        Assert.Equal("bot-7", document.RootElement.GetProperty("id").GetString());
        Assert.Equal(1, document.RootElement.GetProperty("params")[0].GetProperty("someFutureField").GetProperty("x").GetInt32());
    }

    [Fact]
    public void A_bundle_without_dialect_fields_is_forwarded_as_the_bots_exact_bytes_to_every_profile()
    {
        var (bodies, original) = Bodies("eth_sendBundle", $$"""[{"txs":["{{Tx}}"],"blockNumber":"0x10","refundPercent":90}]""");

        Assert.All(BuilderProfile.Names, p => Assert.Same(original, bodies.For(Settings(p)).Body));
    }

    [Fact]
    public void Private_transactions_and_cancels_are_rewritten_to_the_method_each_builder_takes()
    {
        var (bodies, original) = Bodies("eth_sendPrivateTransaction", $$$"""[{"tx":"{{{Tx}}}","maxBlockNumber":"0x20","preferences":{"fast":true}}]""");

        Assert.Same(original, bodies.For(Settings("flashbots")).Body);
        var (raw, method) = bodies.For(Settings("beaverbuild"));
        Assert.Equal("eth_sendPrivateRawTransaction", method);
        using (var document = JsonDocument.Parse(raw))
        {
            Assert.Equal("eth_sendPrivateRawTransaction", document.RootElement.GetProperty("method").GetString());
            Assert.Equal(Tx, Assert.Single(document.RootElement.GetProperty("params").EnumerateArray()).GetString());
        }

        Assert.Equal("eth_sendRawTransaction", bodies.For(Settings("buildernet")).Method);

        var (cancels, cancelOriginal) = Bodies("eth_cancelBundle", """[{"replacementUuid":"0b1c7a2e-0000-4000-8000-000000000001"}]""");
        Assert.Same(cancelOriginal, cancels.For(Settings("titan")).Body);
        var (empty, emptyMethod) = cancels.For(Settings("buildernet"));
        Assert.Equal("eth_sendBundle", emptyMethod);
        Assert.Same(empty, cancels.For(Settings("beaverbuild")).Body);
        using var cancel = JsonDocument.Parse(empty);
        Assert.Equal(0, cancel.RootElement.GetProperty("params")[0].GetProperty("txs").GetArrayLength());
    }

    [Theory]
    [InlineData("""{ name: b, url: "http://127.0.0.1:1", profile: flashbot }""", "chains[0].builders[0].profile")]
    [InlineData("""{ name: b, url: "http://127.0.0.1:1", result_shape: hash }""", "chains[0].builders[0].result_shape")]
    [InlineData("""{ name: b, url: "http://127.0.0.1:1", signature_header: "X Sig" }""", "chains[0].builders[0].signature_header")]
    [InlineData("""{ name: b, urls: ["http://127.0.0.1:1", "ftp://x"] }""", "chains[0].builders[0].urls[1]")]
    [InlineData("""{ name: b }""", "chains[0].builders[0].url")]
    public void Profile_mistakes_are_config_errors_with_their_key_path(string builder, string path)
    {
        var result = ConfigLoader.LoadText(FanoutConfigTests.Yaml(builder));

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path);
    }

    private static string[] Fields(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        return [.. document.RootElement.GetProperty("params")[0].EnumerateObject().Select(p => p.Name)];
    }
}

public sealed class ShippedMainnetExampleTests
{
    [Fact]
    public void The_commented_mainnet_example_in_proxy_yaml_is_valid_and_uses_profiles()
    {
        var lines = File.ReadAllLines(Path.Combine(SharedPaths.RepositoryRoot, "proxy.yaml"));
        var start = Array.FindIndex(lines, l => l.StartsWith("# signing:", StringComparison.Ordinal));
        Assert.True(start > 0);
        var example = string.Join('\n', lines.Skip(start).TakeWhile(l => l.StartsWith('#')).Select(l => l.Length > 2 ? l[2..] : ""));

        var result = ConfigLoader.LoadText(example, name => name switch
        {
            "FLASHBOTS_SIGNING_KEY" => "0xfad9c8855b740a0b7ed4c221dbad0f33a83a49cad6b3fe8d5817ac83d38b6a19",
            _ => "k",
        });

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var builders = result.Options!.Chains[0].Builders;
        Assert.Equal(["titan", "buildernet", "quasar", "beaverbuild", "flashbots"], builders.Select(b => b.Profile).ToArray());
    }
}
