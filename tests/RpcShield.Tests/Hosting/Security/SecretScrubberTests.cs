using RpcShield.Configuration;
using RpcShield.Hosting.Security;

namespace RpcShield.Tests.Hosting.Security;

public sealed class SecretScrubberTests
{
    private const string SigningKey = "0xfad9c8855b740a0b7ed4c221dbad0f33a83a49cad6b3fe8d5817ac83d38b6a19";

    private static SecretScrubber Scrubber()
    {
        var environment = new Dictionary<string, string>
        {
            ["KEY"] = "envkey12345", ["TOKEN"] = "client-token-abcdef012345", ["SIGNING"] = SigningKey, ["AUTH"] = "Bearer beaconsecret99",
            ["WHOLE"] = "http://127.0.0.1:7000/rpc/wholeurlkey777",
        };
        var loaded = ConfigLoader.LoadText("""
            server: { auth_token: "${TOKEN}" }
            signing: { flashbots_key: "${SIGNING}" }
            chains:
              - name: test
                chain_id: 1
                upstreams:
                  - { name: a, url: "https://provider.example/v2/${KEY}" }
                  - { name: b, url: "https://user:pa55word99@other.example/v3/typedinfilekey0123456789?apikey=abcdef0123456789xyz&net=mainnet" }
                  - { name: c, url: "${WHOLE}" }
            passthrough:
              - { path: "/beacon/{**rest}", destinations: ["http://127.0.0.1:5052"], headers: { Authorization: "${AUTH}" } }
            """, name => environment.GetValueOrDefault(name));
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        return new SecretScrubber(loaded.Options!);
    }

    [Theory]
    [InlineData("-32000 bad key envkey12345 for /v2/envkey12345", "-32000 bad key *** for /v2/***")]
    [InlineData("token client-token-abcdef012345 refused", "token *** refused")]
    [InlineData("sig with fad9c8855b740a0b7ed4c221dbad0f33a83a49cad6b3fe8d5817ac83d38b6a19", "sig with ***")]
    [InlineData("auth Bearer beaconsecret99 rejected", "auth *** rejected")]
    [InlineData("echo beaconsecret99", "echo ***")]
    [InlineData("path /v3/typedinfilekey0123456789 and apikey=abcdef0123456789xyz", "path /v3/*** and apikey=***")]
    [InlineData("login pa55word99 failed", "login *** failed")]
    [InlineData("no wholeurlkey777 here", "no *** here")]
    [InlineData("ENVKEY12345 in upper case", "*** in upper case")]
    public void Configured_secrets_are_masked(string text, string expected) => Assert.Equal(expected, Scrubber().Scrub(text));

    [Fact]
    public void Ordinary_words_from_urls_and_config_are_left_alone()
    {
        const string text = "http_503 from provider.example /v2 on mainnet for user at 127.0.0.1:7000/rpc";
        Assert.Same(text, Scrubber().Scrub(text));
    }
}
