using RpcShield.Configuration;

namespace RpcShield.Tests.Features.Fanout;

public sealed class FanoutConfigTests
{
    internal static string Yaml(string builder, string routing = "", string top = "") => $$"""
        {{top}}
        chains:
          - name: mainnet
            chain_id: 1
            upstreams:
              - { name: a, url: "http://127.0.0.1:8545" }
            builders:
              - {{builder}}
            routing:
              retries: 1
        {{routing}}
        """;

    [Fact]
    public void A_full_builder_entry_binds()
    {
        var result = ConfigLoader.LoadText(Yaml(
            """{ name: titan, url: "https://rpc.titanbuilder.xyz", sign: true, timeout: 1500ms, methods: [eth_sendBundle], cancel_style: empty_bundle, max_rps: 25, coinbase: "0x4838B106FCe9647Bdf1E7877BF73cE8B0BAD5f97", extra_data: "Titan" }""",
            "      fanout_grace: 250ms"));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var chain = result.Options!.Chains[0];
        var builder = chain.Builders[0];
        Assert.Equal(TimeSpan.FromMilliseconds(1500), builder.Timeout);
        Assert.Equal("empty_bundle", builder.CancelStyle);
        Assert.Equal(25, builder.MaxRps);
        Assert.Equal("Titan", builder.ExtraData);
        Assert.Equal(TimeSpan.FromMilliseconds(250), chain.Routing.FanoutGrace);
    }

    [Theory]
    [InlineData("""{ name: b, url: "http://127.0.0.1:1", max_rps: -1 }""", "", "chains[0].builders[0].max_rps")]
    [InlineData("""{ name: b, url: "http://127.0.0.1:1", cancel_style: resend }""", "", "chains[0].builders[0].cancel_style")]
    [InlineData("""{ name: b, url: "http://127.0.0.1:1" }""", "      fanout_grace: -1s", "chains[0].routing.fanout_grace")]
    public void Invalid_fanout_settings_are_config_errors(string builder, string routing, string path)
    {
        var result = ConfigLoader.LoadText(Yaml(builder, routing));

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path);
    }

    [Fact]
    public void A_malformed_signing_key_is_a_config_error_that_does_not_echo_the_value()
    {
        var result = ConfigLoader.LoadText(Yaml("""{ name: b, url: "http://127.0.0.1:1", sign: true }""", top: "signing: { flashbots_key: \"${KEY}\" }"), name => name == "KEY" ? "0x1234secret" : null);

        var error = Assert.Single(result.Errors, e => e.Path == "signing.flashbots_key");
        Assert.DoesNotContain("1234secret", error.Message, StringComparison.Ordinal);
    }
}
