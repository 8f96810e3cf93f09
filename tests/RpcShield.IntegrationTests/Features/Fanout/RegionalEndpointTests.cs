using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>`builders[].urls`: the fastest healthy region is used, the next one on failure; /status names the one in use.</summary>
public sealed class RegionalEndpointTests
{
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    private static JsonElement Titan(JsonElement status) =>
        status.GetProperty("chains")[0].GetProperty("builders").EnumerateArray().Single(b => b.GetProperty("name").GetString() == "titan");

    [Fact]
    public async Task Bundles_go_to_the_fastest_region_and_fall_back_to_the_next_when_it_is_down()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var far = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
        far.Delay = TimeSpan.FromMilliseconds(300);
        var near = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
        var nearUrl = near.Url.TrimEnd('/');
        var farUrl = far.Url.TrimEnd('/');
        await using var proxy = await ProxyUnderTest.StartAsync(
            FanoutTests.Config(anvil.Url, [$"{{ name: titan, profile: titan, urls: [\"{farUrl}\", \"{nearUrl}\"], timeout: 3s }}"]),
            FanoutTests.Env);
        await FanoutTests.WaitForHeadAsync(proxy);

        // Both regions measured; the near one (listed second) is in use.
        await FailoverTests.WaitForAsync(proxy, s => Titan(s).GetProperty("urls").EnumerateArray().All(u => u.GetProperty("latency_ms").ValueKind == JsonValueKind.Number));
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(nearUrl, Titan(status).GetProperty("url").GetString());
        Assert.True(Titan(status).GetProperty("urls")[0].GetProperty("in_use").GetBoolean());

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        var block = await anvil.BlockNumberAsync() + 10;
        using (var response = await proxy.Client.PostAsync("/", FailoverTests.Json(FanoutTests.Bundle([tx], block, 1))))
        {
            Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("result", out _));
        }

        Assert.Single(near.Requests, r => r.Method == "eth_sendBundle");
        Assert.DoesNotContain(far.Requests, r => r.Method == "eth_sendBundle");

        // The near region goes down: the same submission falls back to the far one, and /status follows.
        await near.DisposeAsync();
        using (var response = await proxy.Client.PostAsync("/", FailoverTests.Json(FanoutTests.Bundle([tx], block, 2))))
        {
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(json.TryGetProperty("result", out _), json.ToString());
            Assert.Equal("titan=ok", response.Headers.GetValues(RpcShield.Features.Fanout.FanoutHandler.BuildersHeader).Single());
        }

        Assert.Single(far.Requests, r => r.Method == "eth_sendBundle");
        status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(farUrl, Titan(status).GetProperty("url").GetString());
        var nearEntry = Titan(status).GetProperty("urls").EnumerateArray().Single(u => u.GetProperty("url").GetString() == nearUrl);
        Assert.False(nearEntry.GetProperty("healthy").GetBoolean());
    }
}
