namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>The same failover guarantee seen by an independent client library (npm `ws` under node).</summary>
public sealed class NodeWsClientTests
{
    [Fact]
    public async Task An_npm_ws_client_keeps_receiving_consecutive_heads_under_one_id_when_the_serving_node_dies()
    {
        var module = await NodeWsClient.ModuleDirectoryAsync();
        await using var bed = await SubscriptionBed.StartAsync(3);
        var lines = new NodeWsLines();
        var url = new UriBuilder(bed.Proxy.BaseAddress) { Scheme = "ws", Path = "/test" }.Uri;
        using var process = NodeWsClient.Start(module, url, TimeSpan.FromSeconds(11), lines.Add);

        for (var i = 0; i < 100 && lines.HeadCount < 3; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(lines.HeadCount >= 3, "node client received no heads: " + lines);
        var serving = await bed.WaitForServingAsync();
        bed.Node(serving).Kill();
        var beforeKill = lines.HeadCount;
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        var numbers = lines.AssertHeads();
        Assert.True(numbers.Count - beforeKill >= 3, "too few heads after the kill: " + lines);
        HeadFailoverTests.AssertConsecutive(numbers);
    }
}
