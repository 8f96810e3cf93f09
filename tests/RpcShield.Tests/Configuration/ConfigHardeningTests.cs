using System.Text;
using RpcShield.Configuration;

namespace RpcShield.Tests.Configuration;

/// <summary>Hostile or careless configuration: YAML bombs by nesting and size, reserved chain names, weak tokens.</summary>
public sealed class ConfigHardeningTests
{
    private const string Minimal = ConfigLoaderTests.Minimal;

    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, _ => null);

    /// <summary>`a:\n  a:\n    a: …` nested <paramref name="depth"/> levels (block mappings).</summary>
    internal static string DeepBlock(int depth)
    {
        var text = new StringBuilder("chains: []\nx:\n");
        for (var i = 1; i < depth; i++)
        {
            text.Append(' ', i).Append("a:\n");
        }

        return text.Append(' ', depth).Append("b: 1\n").ToString();
    }

    /// <summary>`x: [[[[…]]]]` nested <paramref name="depth"/> levels (flow sequences).</summary>
    internal static string DeepFlow(int depth) => "x: " + new string('[', depth) + new string(']', depth) + "\n" + Minimal;

    /// <summary>`x: {a: {a: …}}` nested <paramref name="depth"/> levels (flow mappings).</summary>
    internal static string DeepFlowMappings(int depth) =>
        "x: " + new StringBuilder().Insert(0, "{a: ", depth) + "1" + new string('}', depth) + "\n" + Minimal;

    /// <summary>`x:\n- - - … 1` nested <paramref name="depth"/> levels (compact block sequences on one line).</summary>
    internal static string DeepCompactSequences(int depth) => "x:\n" + new StringBuilder().Insert(0, "- ", depth) + "1\n" + Minimal;

    [Theory]
    [InlineData(1_000)]
    [InlineData(65)]
    public void Deep_indented_block_nesting_is_a_clear_error(int depth)
    {
        var result = Load(DeepBlock(depth));
        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith("line ", error.Path, StringComparison.Ordinal);
        Assert.Contains("nested more than 64 levels", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40_000)]
    [InlineData(100)]
    public void Deep_flow_and_compact_nesting_is_a_clear_error_not_a_stack_overflow(int depth)
    {
        foreach (var yaml in (string[])[DeepFlow(depth), DeepFlowMappings(depth), DeepCompactSequences(depth)])
        {
            var result = Load(yaml);
            var error = Assert.Single(result.Errors);
            Assert.Contains("nested more than 64 levels", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Nesting_within_the_limit_reaches_the_binder_as_before()
    {
        // 60 levels parse; the unknown key is then reported by the binder with its path.
        var result = Load(DeepFlow(60));
        Assert.Contains(result.Errors, e => e.Path == "x" && e.Message.Contains("unknown key", StringComparison.Ordinal));
    }

    [Fact]
    public void An_oversized_file_is_refused_before_it_is_read()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-big-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, Minimal + "\n#" + new string('x', YamlLimits.MaxBytes) + "\n");
        try
        {
            var result = ConfigLoader.LoadFile(path);
            var error = Assert.Single(result.Errors);
            Assert.Equal("(file)", error.Path);
            Assert.Contains("too large", error.Message, StringComparison.Ordinal);
            Assert.Contains(Load(File.ReadAllText(path)).Errors, e => e.Message.Contains("too large", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    [InlineData("status")]
    [InlineData("metrics")]
    [InlineData("admin")]
    [InlineData("ui")]
    [InlineData("v1")]
    [InlineData("sandbox")]
    public void Chain_names_may_not_take_rpcshield_paths(string name)
    {
        var result = Load(Minimal.Replace("name: mainnet", $"name: {name}", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Path == "chains[0].name" && e.Message.Contains("reserved", StringComparison.Ordinal));
    }

    [Fact]
    public void A_passthrough_prefix_may_not_take_a_chain_name_or_a_reserved_path()
    {
        var result = Load(Minimal + """

            passthrough:
              - { path: "/mainnet/{**rest}", destinations: ["http://127.0.0.1:5052"] }
              - { path: "/ui/{**rest}", destinations: ["http://127.0.0.1:5052"] }
            """);
        Assert.Contains(result.Errors, e => e.Path == "passthrough[0].path");
        Assert.Contains(result.Errors, e => e.Path == "passthrough[1].path");
    }

    [Theory]
    [InlineData("server: { auth_token: \"\" }", "server.auth_token", "blank")]
    [InlineData("server: { auth_token: \"   \" }", "server.auth_token", "blank")]
    [InlineData("server: { auth_token: short-token }", "server.auth_token", "at least 16")]
    [InlineData("server: { listen: \"http://0.0.0.0:8545\", auth_token: \"\" }", "server.auth_token", "blank")]
    [InlineData("admin: { token: \"\" }", "admin.token", "blank")]
    [InlineData("admin: { token: 123456789012345 }", "admin.token", "at least 16")]
    public void A_blank_or_short_token_is_a_config_error_wherever_it_is_set(string line, string path, string fragment)
    {
        var result = Load(line + "\n" + Minimal);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.Message.Contains("short-token", StringComparison.Ordinal));
    }

    [Fact]
    public void Sixteen_character_tokens_are_accepted()
    {
        var result = Load("server: { auth_token: 0123456789abcdef }\nadmin: { token: fedcba9876543210 }\n" + Minimal);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }
}
