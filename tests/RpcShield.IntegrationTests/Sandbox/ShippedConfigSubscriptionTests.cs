using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Features.Subscriptions;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>The repository's own proxy.yaml with its sandbox, as a new user runs it (only ports made ephemeral).</summary>
public sealed class ShippedConfigSubscriptionTests
{
    [Fact]
    public async Task The_shipped_proxy_yaml_and_sandbox_deliver_every_block_to_a_raw_socket_and_to_an_npm_ws_client()
    {
        var module = await NodeWsClient.ModuleDirectoryAsync();
        await using var sandbox = await ShippedSandbox.StartAsync(TimeSpan.FromSeconds(1));
        var address = sandbox.Address;

        var lines = new NodeWsLines();
        using var process = NodeWsClient.Start(module, new UriBuilder(address) { Scheme = "ws", Path = "/" }.Uri, TimeSpan.FromSeconds(7), lines.Add);
        await using var client = await WsTestClient.ConnectAsync(address);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= 5, TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(heads.Count >= 5, "raw socket: too few heads: " + string.Join(',', heads));
        HeadFailoverTests.AssertConsecutive(heads);
        var nodeHeads = lines.AssertHeads();
        Assert.True(nodeHeads.Count >= 3, "npm ws: too few heads: " + lines);
        HeadFailoverTests.AssertConsecutive(nodeHeads);

        using var http = new HttpClient { BaseAddress = address };
        await FeedStatus.SourceAsync(http, "ws");
    }
}
