namespace RpcShield.IntegrationTests.Subscriptions;

/// <summary>The same failover guarantee seen by an independent client library (npm `ws` under node).</summary>
public sealed class NodeWsClientTests
{
    [Fact]
    public async Task An_npm_ws_client_keeps_receiving_consecutive_heads_under_one_id_when_the_serving_node_dies()
    {
        var module = await NodeWsClient.ModuleDirectoryAsync();
        await using var bed = await SubscriptionBed.StartAsync(3);
        var lines = new List<string>();
        var url = new UriBuilder(bed.Proxy.BaseAddress) { Scheme = "ws", Path = "/test" }.Uri;
        using var process = NodeWsClient.Start(module, url, TimeSpan.FromSeconds(11), l =>
        {
            lock (lines)
            {
                lines.Add(l);
            }
        });

        int Heads()
        {
            lock (lines)
            {
                return lines.Count(l => l.StartsWith("HEAD ", StringComparison.Ordinal));
            }
        }

        for (var i = 0; i < 100 && Heads() < 3; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(Heads() >= 3, "node client received no heads: " + string.Join(" | ", lines));
        var serving = await bed.WaitForServingAsync();
        bed.Node(serving).Kill();
        var beforeKill = Heads();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        string[] all;
        lock (lines)
        {
            all = [.. lines];
        }

        var subscription = Assert.Single(all, l => l.StartsWith("SUB ", StringComparison.Ordinal))[4..];
        Assert.StartsWith("0x", subscription, StringComparison.Ordinal);
        var heads = all.Where(l => l.StartsWith("HEAD ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        Assert.All(heads, h => Assert.Equal(subscription, h[1]));
        var numbers = heads.Select(h => long.Parse(h[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(numbers.Count - beforeKill >= 3, "too few heads after the kill: " + string.Join(" | ", all));
        HeadFailoverTests.AssertConsecutive(numbers);
        Assert.DoesNotContain(all, l => l.StartsWith("ERROR", StringComparison.Ordinal) || l.StartsWith("STDERR", StringComparison.Ordinal));
    }
}
