using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.Features.Fanout;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;
using static RpcShield.IntegrationTests.Chaos.ChaosHttp;

namespace RpcShield.IntegrationTests.Chaos;

/// <summary>Builder-scope faults through the real fan-out pipeline against fake builders speaking the relay wire format.</summary>
public sealed class BuilderScopeChaosTests
{
    [Fact]
    public async Task Builder_reject_and_timeout_hit_only_their_builders_before_submission()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var good = await FakeBuilder.StartAsync();
        await using var rejecting = await FakeBuilder.StartAsync();
        await using var stalling = await FakeBuilder.StartAsync();
        const string rules = """[{ name: reject-b, scope: builder, targets: [rejecting], fault: builder_reject }, { name: stall-c, scope: builder, targets: [stalling], fault: builder_timeout }]""";
        var yaml = FanoutTests.Config(anvil.Url, [$"{{ name: good, url: \"{good.Url}\" }}", $"{{ name: rejecting, url: \"{rejecting.Url}\" }}", $"{{ name: stalling, url: \"{stalling.Url}\", timeout: 300ms }}"], grace: "2s")
            + "\n" + ChaosTop(allowHeader: false, rules: rules);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, FanoutTests.Env);
        await FanoutTests.WaitForHeadAsync(proxy);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1);
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(FanoutTests.Bundle([tx], await anvil.BlockNumberAsync() + 2, 1)));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(json.TryGetProperty("result", out _), json.GetRawText());
        Assert.Equal(["good=ok", "rejecting=error", "stalling=timeout"], response.Headers.GetValues(FanoutHandler.BuildersHeader).Single().Split(',').Order());
        Assert.Empty(rejecting.Requests);
        Assert.Empty(stalling.Requests);
        Assert.Single(good.Requests);
        Assert.Equal(["reject-b=builder_reject", "stall-c=builder_timeout"], response.Headers.GetValues("X-RpcShield-Chaos").Single().Split(',').Order());
        Assert.Equal(1, await InjectionsAsync(proxy, "reject-b"));
        Assert.Equal(1, await InjectionsAsync(proxy, "stall-c"));
    }
}
