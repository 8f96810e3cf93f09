using RpcShield.Configuration;

namespace RpcShield.Tests.Configuration;

public sealed class SizeParserTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1048576", 1048576L)]
    [InlineData("1_048_576", 1048576L)]
    [InlineData("512KiB", 512L * 1024)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData(" 1GiB ", 1L << 30)]
    [InlineData("8 GiB", 8L << 30)]
    public void Sizes_parse(string text, long expected)
    {
        Assert.True(SizeParser.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("GiB")]
    [InlineData("1.5GiB")]
    [InlineData("1GB")]
    [InlineData("1gib")]
    [InlineData("-1")]
    [InlineData("99999999999GiB")]
    public void Everything_else_is_refused(string text) => Assert.False(SizeParser.TryParse(text, out _));

    [Fact]
    public void Keys_ending_in_bytes_take_sizes_and_journal_max_bytes_is_validated()
    {
        var loaded = ConfigLoader.LoadText("""
            server: { max_body_bytes: 2MiB }
            journal: { max_bytes: 256MiB }
            chains: [{ name: test, chain_id: 1, upstreams: [{ name: a, url: "http://127.0.0.1:9" }] }]
            """);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        Assert.Equal(2 << 20, loaded.Options!.Server.MaxBodyBytes);
        Assert.Equal(256L << 20, loaded.Options.Journal.MaxBytes);
        Assert.Equal(1L << 30, ConfigLoader.LoadText("chains: [{ name: test, chain_id: 1, upstreams: [{ name: a, url: \"http://127.0.0.1:9\" }] }]").Options!.Journal.MaxBytes);

        var bad = ConfigLoader.LoadText("""
            journal: { max_bytes: 1GB }
            chains: [{ name: test, chain_id: 1, upstreams: [{ name: a, url: "http://127.0.0.1:9" }] }]
            """);
        Assert.Contains(bad.Errors, e => e.Path == "journal.max_bytes" && e.Message.Contains("not a size", StringComparison.Ordinal));
        var small = ConfigLoader.LoadText("""
            journal: { max_bytes: 64KiB }
            chains: [{ name: test, chain_id: 1, upstreams: [{ name: a, url: "http://127.0.0.1:9" }] }]
            """);
        Assert.Contains(small.Errors, e => e.Path == "journal.max_bytes" && e.Message.Contains("1MiB", StringComparison.Ordinal));
    }
}
