using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Tests.Routing;

/// <summary>A compiled glob list (builders' `methods` and `reads`) answers exactly as matching its globs on each request.</summary>
public sealed class MethodSetTests
{
    public static TheoryData<string[]> Lists() =>
    [
        [],
        ["eth_callBundle"],
        ["eth_callBundle", "flashbots_*", "custom_literal"],
        ["*"],
        ["*Bundle*", "mev_sim*", "titan_getBundleStats"],
        ["eth_get*ByHash", "odd*"],
    ];

    private static readonly string[] Probes =
    [
        "eth_callBundle", "eth_sendBundle", "flashbots_getBundleStatsV2", "flashbots_brandNew", "custom_literal", "custom_other",
        "mev_simBundle", "mev_simSomethingNew", "titan_getBundleStats", "eth_getBlockByHash", "eth_getUnknownByHash", "odd", "odd*",
        "never_heard_of", "",
    ];

    [Theory]
    [MemberData(nameof(Lists))]
    public void Answers_as_the_globs_do(string[] patterns)
    {
        var set = new MethodSet(patterns);
        Assert.Equal(patterns.Length, set.Count);
        foreach (var method in Probes.Concat(KnownMethods.All))
        {
            Assert.True(MethodGlob.MatchesAny(patterns, method) == set.Contains(method), $"[{string.Join(",", patterns)}] {method}");
        }
    }

    [Fact]
    public void Builder_settings_read_the_compiled_lists()
    {
        var settings = RpcShield.Features.Fanout.BuilderSettings.Resolve(new RpcShield.Configuration.BuilderOptions
        {
            Name = "b", Url = "http://127.0.0.1:1", Profile = "custom", Methods = ["eth_send*"], Reads = ["eth_callBundle", "flashbots_*"],
        });

        Assert.True(settings.ServesRead("flashbots_getUserStats"));
        Assert.True(settings.ServesRead("flashbots_notYetKnown"));
        Assert.False(settings.ServesRead("eth_call"));
        Assert.Equal("eth_sendBundle", settings.SentMethod("eth_sendBundle"));
        Assert.Equal("eth_sendSomethingNew", settings.SentMethod("eth_sendSomethingNew"));
        Assert.Null(settings.SentMethod("mev_sendBundle"));
    }
}
