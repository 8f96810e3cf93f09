using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Fleet;

[CollectionDefinition(nameof(RedisFleet), DisableParallelization = true)]
public sealed class RedisFleet;

/// <summary>
/// `share_budget: true` through a real redis-server: two RpcShield instances keep one `max_rps`
/// together, and each keeps to its local share when Redis dies. Rate tests, bounded in duration.
/// </summary>
[Collection(nameof(RedisFleet))]
public sealed class SharedBudgetTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double MaxRps = 50;

    private static string Config(string upstream, string redis) => $$"""
        server: { listen: http://127.0.0.1:0 }
        journal: { path: "" }
        redis: { url: "{{redis}}", expected_instances: 2 }
        chains:
          - name: test
            chain_id: 31337
            upstreams:
              - { name: node, url: "{{upstream}}", max_rps: {{MaxRps}}, share_budget: true }
            routing:
              health: { interval: 2s, timeout: 1s }
              retries: 0
        """;

    /// <summary>Keeps offering far more than the budget from two loops per instance; counts what each instance got served.</summary>
    private sealed class Load : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _loops;
        private readonly long[] _served;

        public Load(params ProxyUnderTest[] proxies)
        {
            _served = new long[proxies.Length];
            _loops = proxies.SelectMany((proxy, i) => Enumerable.Range(0, 2).Select(_ => Task.Run(() => LoopAsync(proxy, i)))).ToArray();
        }

        public long Served(int instance) => Interlocked.Read(ref _served[instance]);

        private async Task LoopAsync(ProxyUnderTest proxy, int instance)
        {
            while (!_stop.IsCancellationRequested)
            {
                var reply = await Rpc.CallAsync(proxy, "eth_getTransactionCount", """["0x0000000000000000000000000000000000000001","latest"]""");
                if (!reply.IsError)
                {
                    Interlocked.Increment(ref _served[instance]);
                }

                await Task.Delay(8);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_loops);
            _stop.Dispose();
        }
    }

    [RedisFact]
    public async Task Two_instances_sharing_max_rps_50_send_50_per_second_in_total()
    {
        using var redis = await RedisServer.StartAsync();
        long hits = 0;
        await using var node = await FakeNode.StartAsync(failing: false, () => Interlocked.Increment(ref hits));
        var logs = new LogCapture();
        await using var a = await ProxyUnderTest.StartAsync(Config(node.Url, redis.Url), services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        await using var b = await ProxyUnderTest.StartAsync(Config(node.Url, redis.Url));
        await a.WaitRoutableAsync(1);
        await b.WaitRoutableAsync(1);

        await using (var load = new Load(a, b))
        {
            // Let the shared bucket's burst drain, then count everything the upstream gets (probes and head polls included) for 10 s.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var startHits = Interlocked.Read(ref hits);
            var startServed = (load.Served(0), load.Served(1));
            var watch = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(10));
            var rate = (Interlocked.Read(ref hits) - startHits) / watch.Elapsed.TotalSeconds;
            var servedA = load.Served(0) - startServed.Item1;
            var servedB = load.Served(1) - startServed.Item2;
            output.WriteLine($"shared: upstream got {rate:0.00}/s over {watch.Elapsed.TotalSeconds:0.0} s; served {servedA} + {servedB}");
            Assert.InRange(rate, MaxRps * 0.9, MaxRps * 1.1);
            // Both instances got a part of the one budget (neither is starved).
            Assert.True(servedA > 50 && servedB > 50, $"served {servedA} / {servedB}");
        }

        Assert.True(!logs.Lines.Any(l => l.Contains("falls back", StringComparison.Ordinal)), string.Join("\n", logs.Lines.Where(l => l.Contains("falls back", StringComparison.Ordinal))));
        Assert.Equal(0.0, await Rpc.MetricAsync(a, "rpcshield_budget_fallbacks_total", ("chain", "test"), ("target", "node")));
        Assert.Contains("rpcshield_budget_fallbacks_total{chain=\"test\",target=\"node\"} 0", await b.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [RedisFact]
    public async Task With_redis_killed_mid_run_both_instances_keep_serving_within_their_local_share()
    {
        using var redis = await RedisServer.StartAsync();
        long hits = 0;
        await using var node = await FakeNode.StartAsync(failing: false, () => Interlocked.Increment(ref hits));
        var logs = new LogCapture();
        await using var a = await ProxyUnderTest.StartAsync(Config(node.Url, redis.Url), services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        await using var b = await ProxyUnderTest.StartAsync(Config(node.Url, redis.Url));
        await a.WaitRoutableAsync(1);
        await b.WaitRoutableAsync(1);

        await using (var load = new Load(a, b))
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            redis.Kill();
            // Let each instance notice and drain its local bucket's burst, then measure for 5 s.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var startHits = Interlocked.Read(ref hits);
            var startServed = (load.Served(0), load.Served(1));
            var watch = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var seconds = watch.Elapsed.TotalSeconds;
            var rate = (Interlocked.Read(ref hits) - startHits) / seconds;
            var rateA = (load.Served(0) - startServed.Item1) / seconds;
            var rateB = (load.Served(1) - startServed.Item2) / seconds;
            var localShare = MaxRps / 2;
            output.WriteLine($"redis killed: upstream got {rate:0.00}/s; served {rateA:0.00}/s and {rateB:0.00}/s");
            // Each keeps serving, within max_rps / expected_instances (+10 %); together within max_rps.
            Assert.InRange(rateA, localShare * 0.5, localShare * 1.1);
            Assert.InRange(rateB, localShare * 0.5, localShare * 1.1);
            Assert.True(rate <= MaxRps * 1.1, $"upstream got {rate:0.0}/s with Redis down");
        }

        Assert.Equal(1.0, await Rpc.MetricAsync(a, "rpcshield_budget_fallbacks_total", ("chain", "test"), ("target", "node")));
        Assert.Equal(1.0, await Rpc.MetricAsync(b, "rpcshield_budget_fallbacks_total", ("chain", "test"), ("target", "node")));
        Assert.Single(logs.Lines, l => l.Contains("falls back to its local share", StringComparison.Ordinal));
    }
}
