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

    /// <summary>A real redis-server, a counting upstream and two RpcShield instances sharing its budget.</summary>
    private sealed class TwoInstances : IAsyncDisposable
    {
        private long _hits;

        private TwoInstances(RedisServer redis) => Redis = redis;

        public RedisServer Redis { get; }

        public FakeServer Node { get; private set; } = null!;

        public ProxyUnderTest A { get; private set; } = null!;

        public ProxyUnderTest B { get; private set; } = null!;

        public LogCapture LogsOfA { get; } = new();

        public long Hits => Interlocked.Read(ref _hits);

        public static async Task<TwoInstances> StartAsync()
        {
            var fleet = new TwoInstances(await RedisServer.StartAsync());
            fleet.Node = await FakeNode.StartAsync(failing: false, () => Interlocked.Increment(ref fleet._hits));
            fleet.A = await ProxyUnderTest.StartAsync(Config(fleet.Node.Url, fleet.Redis.Url), services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(fleet.LogsOfA));
            fleet.B = await ProxyUnderTest.StartAsync(Config(fleet.Node.Url, fleet.Redis.Url));
            await fleet.A.WaitRoutableAsync(1);
            await fleet.B.WaitRoutableAsync(1);
            return fleet;
        }

        /// <summary>Per second over <paramref name="span"/>: requests the upstream got (probes and head polls included), and what each instance served.</summary>
        public async Task<(double Upstream, double A, double B)> MeasureAsync(Load load, TimeSpan span)
        {
            var (hits, a, b) = (Hits, load.Served(0), load.Served(1));
            var watch = Stopwatch.StartNew();
            await Task.Delay(span);
            var seconds = watch.Elapsed.TotalSeconds;
            return ((Hits - hits) / seconds, (load.Served(0) - a) / seconds, (load.Served(1) - b) / seconds);
        }

        public static double Fallbacks(string metrics) => metrics.Split('\n')
            .Where(l => l.StartsWith("rpcshield_budget_fallbacks_total{chain=\"test\",target=\"node\"}", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

        public async ValueTask DisposeAsync()
        {
            await B.DisposeAsync();
            await A.DisposeAsync();
            await Node.DisposeAsync();
            Redis.Dispose();
        }
    }

    [RedisFact]
    public async Task Two_instances_sharing_max_rps_50_send_50_per_second_in_total()
    {
        await using var fleet = await TwoInstances.StartAsync();
        await using (var load = new Load(fleet.A, fleet.B))
        {
            // Let the shared bucket's burst drain, then count everything the upstream gets for 10 s.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var (rate, servedA, servedB) = await fleet.MeasureAsync(load, TimeSpan.FromSeconds(10));
            output.WriteLine($"shared: upstream got {rate:0.00}/s; served {servedA:0.00}/s + {servedB:0.00}/s");
            Assert.InRange(rate, MaxRps * 0.9, MaxRps * 1.1);
            // Both instances got a part of the one budget (neither is starved).
            Assert.True(servedA > 5 && servedB > 5, $"served {servedA:0.0}/s and {servedB:0.0}/s");
        }

        Assert.DoesNotContain(fleet.LogsOfA.Lines, l => l.Contains("falls back", StringComparison.Ordinal));
        Assert.Contains("rpcshield_budget_fallbacks_total{chain=\"test\",target=\"node\"} 0", await fleet.B.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.Equal(0.0, TwoInstances.Fallbacks(await fleet.A.Client.GetStringAsync("/metrics")));
    }

    [RedisFact]
    public async Task With_redis_killed_mid_run_both_instances_keep_serving_within_their_local_share()
    {
        await using var fleet = await TwoInstances.StartAsync();
        await using (var load = new Load(fleet.A, fleet.B))
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            fleet.Redis.Kill();
            // Wait until both instances have noticed (on a loaded box a failing refill can take a while),
            // then let each drain its local bucket's burst before measuring for 5 s.
            var noticedBy = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < noticedBy
                   && (TwoInstances.Fallbacks(await fleet.A.Client.GetStringAsync("/metrics")) < 1
                       || TwoInstances.Fallbacks(await fleet.B.Client.GetStringAsync("/metrics")) < 1))
            {
                await Task.Delay(100);
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
            var (rate, rateA, rateB) = await fleet.MeasureAsync(load, TimeSpan.FromSeconds(5));
            var localShare = MaxRps / 2;
            output.WriteLine($"redis killed: upstream got {rate:0.00}/s; served {rateA:0.00}/s and {rateB:0.00}/s");
            // Each keeps serving, within max_rps / expected_instances (+10 %); together within max_rps.
            Assert.InRange(rateA, localShare * 0.5, localShare * 1.1);
            Assert.InRange(rateB, localShare * 0.5, localShare * 1.1);
            Assert.True(rate <= MaxRps * 1.1, $"upstream got {rate:0.0}/s with Redis down");
        }

        Assert.Equal(1.0, TwoInstances.Fallbacks(await fleet.A.Client.GetStringAsync("/metrics")));
        Assert.Equal(1.0, TwoInstances.Fallbacks(await fleet.B.Client.GetStringAsync("/metrics")));
        Assert.Single(fleet.LogsOfA.Lines, l => l.Contains("falls back to its local share", StringComparison.Ordinal));
    }
}
