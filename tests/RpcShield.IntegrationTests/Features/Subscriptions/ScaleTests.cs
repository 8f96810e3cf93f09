using System.Globalization;
using Xunit.Abstractions;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>
/// 200 subscriptions over 20 connections for a bounded time (10 s in CI; the 30 s run is
/// this test with RPCSHIELD_WS_SCALE_SECONDS=30), with a client that stops reading among them.
/// </summary>
public sealed class ScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_subscriptions_all_receive_every_head_and_a_non_reading_client_is_dropped_alone()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("RPCSHIELD_WS_SCALE_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 10;
        await using var bed = await SubscriptionBed.StartAsync(2, websocket: "{ send_queue: 64, max_subscriptions_per_connection: 20 }");
        var clients = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => WsTestClient.ConnectAsync(bed.Proxy.BaseAddress)));
        try
        {
            var subscriptions = new List<(WsTestClient Client, string Id)>();
            foreach (var client in clients)
            {
                for (var i = 0; i < 10; i++)
                {
                    subscriptions.Add((client, await client.SubscribeAsync("""["newHeads"]""")));
                }
            }

            Assert.Equal(200, subscriptions.Select(x => x.Id).Distinct().Count());
            Assert.Equal(200, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));
            var before = GC.GetTotalMemory(forceFullCollection: true);

            using var slow = await NonReadingClient.ConnectAsync(bed.Proxy.BaseAddress);
            var flood = Enumerable.Range(0, 10).Select(i => $$"""{"jsonrpc":"2.0","id":"s{{i}}","method":"eth_subscribe","params":["newHeads"]}""")
                .Concat(Enumerable.Range(0, 2000).Select(i => $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_getBlockByNumber","params":["latest",false]}"""));
            var sending = slow.SendAsync(flood);

            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var sentBeforeDrop = await sending.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.True(await bed.MetricAsync("rpcshield_ws_slow_client_disconnects_total{chain=\"test\"}") >= 1, "the non-reading client was not dropped");
            Assert.Equal(200, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));

            var perSubscription = subscriptions.ToDictionary(x => x.Id, _ => new List<long>());
            foreach (var client in clients)
            {
                while (client.Notifications.Reader.TryRead(out var notification))
                {
                    var parameters = notification.GetProperty("params");
                    perSubscription[parameters.GetProperty("subscription").GetString()!].Add(HeadFailoverTests.Number(parameters.GetProperty("result")));
                }
            }

            var last = perSubscription.Values.Max(h => h.Count == 0 ? -1 : h[^1]);
            foreach (var (id, heads) in perSubscription)
            {
                Assert.True(heads.Count >= seconds - 3, $"{id} received only {heads.Count} heads in {seconds} s");
                HeadFailoverTests.AssertConsecutive(heads);
                Assert.True(heads[^1] >= last - 1, $"{id} stopped at {heads[^1]}, others reached {last}");
            }

            var first = perSubscription.Values.Max(h => h[0]);
            Assert.All(perSubscription.Values, h => Assert.Contains(first, h));

            var after = GC.GetTotalMemory(forceFullCollection: true);
            output.WriteLine($"{seconds} s: heads per subscription {perSubscription.Values.Min(h => h.Count)}..{perSubscription.Values.Max(h => h.Count)}; " +
                $"non-reading client sent {sentBeforeDrop} messages before it was dropped; managed heap {before / 1024} KiB -> {after / 1024} KiB");
            Assert.True(after - before < 64L * 1024 * 1024, $"memory grew by {(after - before) / 1024} KiB");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
