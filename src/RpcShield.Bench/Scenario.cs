using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using RpcShield.Configuration;

namespace RpcShield.Bench;

/// <summary>One bench scenario: a request body, the upstreams it needs, and what it measures.</summary>
internal sealed record Scenario(string Name, string Body, int Upstreams, int FailEvery, string Description)
{
    public static readonly Scenario[] All =
    [
        new("single", """{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}""", 1, 0, "single eth_blockNumber"),
        new("batch10", "[" + string.Join(",", Enumerable.Range(1, 10).Select(i => $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_blockNumber","params":[]}""")) + "]", 1, 0, "batch of 10 eth_blockNumber"),
        new("large", """{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{"fromBlock":"0x1","toBlock":"0x10"}]}""", 1, 0, "~1 MB eth_getLogs response"),
        new("failover", """{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}""", 3, 10, "3 upstreams, one failing 10% (HTTP 500)"),
    ];
}

/// <summary>Server-side cost sampled around a load run (this process hosts RpcShield; upstreams run in their own processes).</summary>
internal sealed record ProcessCost(double CpuSeconds, long AllocatedBytes, int Gen0, int Gen1, int Gen2, long PeakHeapBytes, long StartHeapBytes)
{
    /// <summary>
    /// Allocated bytes per request; null when the runtime's counter went backwards. .NET 10's
    /// `GC.GetTotalAllocatedBytes` sums only the heaps active now, so when Server GC's dynamic
    /// heap count (DATAS) retires a heap mid-run the total drops (dotnet/runtime#131069); the
    /// sampled total of `--alloc-profile` is the cross-check.
    /// </summary>
    public double? BytesPer(long requests) => AllocatedBytes < 0 ? null : AllocatedBytes / (double)Math.Max(1, requests);

    public static async Task<(T Result, ProcessCost Cost)> MeasureAsync<T>(Func<Task<T>> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var heap0 = GC.GetTotalMemory(false);
        long peak = heap0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                try
                {
                    await Task.Delay(50, sampling.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        var result = await run().ConfigureAwait(false);
        await sampling.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        process.Refresh();
        return (result, new ProcessCost(
            (process.TotalProcessorTime - cpu0).TotalSeconds,
            GC.GetTotalAllocatedBytes(precise: true) - alloc0,
            GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2,
            peak, heap0));
    }
}

/// <summary>One comparison hop's run (nginx, haproxy, caddy).</summary>
internal sealed record HopResult(string Hop, LoadResult Load);

/// <summary>Everything one scenario measured: direct, through RpcShield, and (single-upstream scenarios) through the .NET floor and the comparison hops.</summary>
internal sealed record ScenarioResult(
    string Scenario, string Description, LoadResult Direct, LoadResult Through, LoadResult? Nginx,
    ProcessCost DirectCost, ProcessCost ThroughCost)
{
    /// <summary>The .NET floor (<see cref="FloorProxy"/>) on the same upstream and load, single-upstream scenarios only.</summary>
    public LoadResult? Floor { get; init; }

    public ProcessCost? FloorCost { get; init; }

    /// <summary>Every comparison hop that ran (nginx first; HAProxy and Caddy on the bare hop, `single`), each on the same upstream and load.</summary>
    public IReadOnlyList<HopResult> Hops { get; init; } = [];

    public double? FloorCpuMicrosPerRequest => Floor is { } f && FloorCost is { } c ? c.CpuSeconds / Math.Max(1, f.Requests) * 1e6 : null;

    public double? FloorBytesPerRequest => Floor is { } f && FloorCost is { } c ? c.BytesPer(f.Requests) : null;

    /// <summary>Proxy's allocations per request (the upstreams run in other processes, so this process's are RpcShield's).</summary>
    public double? ProxyBytesPerRequest => ThroughCost.BytesPer(Through.Requests);

    public double ProxyCpuMicrosPerRequest => ThroughCost.CpuSeconds / Math.Max(1, Through.Requests) * 1e6;
}

internal static class ScenarioRunner
{
    public static async Task<ScenarioResult> RunAsync(Scenario scenario, ILoadGenerator load, int connections, TimeSpan duration, bool withHops, TextWriter log, AllocationProfiler? profiler = null)
    {
        var upstreams = new List<UpstreamProcess>();
        try
        {
            for (var i = 0; i < scenario.Upstreams; i++)
            {
                upstreams.Add(await UpstreamProcess.StartAsync(i == 0 ? scenario.FailEvery : 0).ConfigureAwait(false));
            }

            await using var proxy = await StartProxyAsync(upstreams).ConfigureAwait(false);
            var proxyUrl = proxy.BoundAddress().ToString();
            var directUrl = upstreams[^1].Url + "/";

            log.WriteLine($"[{scenario.Name}] warm-up…");
            await load.RunAsync(proxyUrl, scenario.Body, connections, TimeSpan.FromSeconds(Math.Min(3, duration.TotalSeconds))).ConfigureAwait(false);
            await load.RunAsync(directUrl, scenario.Body, connections, TimeSpan.FromSeconds(1)).ConfigureAwait(false);

            log.WriteLine($"[{scenario.Name}] direct…");
            var (direct, directCost) = await ProcessCost.MeasureAsync(() => load.RunAsync(directUrl, scenario.Body, connections, duration)).ConfigureAwait(false);
            log.WriteLine($"[{scenario.Name}] through RpcShield…");
            profiler?.Start();
            var (through, throughCost) = await ProcessCost.MeasureAsync(() => load.RunAsync(proxyUrl, scenario.Body, connections, duration)).ConfigureAwait(false);
            if (profiler is not null)
            {
                log.WriteLine($"[{scenario.Name}] allocation samples by type (through run, upstream included):");
                foreach (var (type, bytes) in profiler.Stop(25))
                {
                    log.WriteLine($"    {bytes / Math.Max(1, through.Requests),8} B/req  {type}");
                }

                log.WriteLine($"    {profiler.SampledTotal / Math.Max(1, through.Requests),8} B/req  sampled total (all types; cross-checks the counter in the table)");
            }

            LoadResult? floor = null;
            ProcessCost? floorCost = null;
            if (scenario.Upstreams == 1)
            {
                await using var floorProxy = await FloorProxy.StartAsync(upstreams[0].Url).ConfigureAwait(false);
                log.WriteLine($"[{scenario.Name}] through the .NET floor (Kestrel + HttpClient, no logic)…");
                await load.RunAsync(floorProxy.Url, scenario.Body, connections, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                (floor, floorCost) = await ProcessCost.MeasureAsync(() => load.RunAsync(floorProxy.Url, scenario.Body, connections, duration)).ConfigureAwait(false);
            }

            var hops = new List<HopResult>();
            if (withHops && scenario.Upstreams == 1)
            {
                // HAProxy and Caddy beside nginx on the bare hop; the other scenarios keep nginx alone (shorter runs).
                var started = await ExtraHop.StartAllAsync(upstreams[0].Port, nginxOnly: scenario.Name != "single").ConfigureAwait(false);
                try
                {
                    foreach (var hop in started)
                    {
                        log.WriteLine($"[{scenario.Name}] through {hop.Name}…");
                        await load.RunAsync(hop.Url, scenario.Body, connections, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                        hops.Add(new HopResult(hop.Name, await load.RunAsync(hop.Url, scenario.Body, connections, duration).ConfigureAwait(false)));
                    }
                }
                finally
                {
                    await ExtraHop.DisposeAllAsync(started).ConfigureAwait(false);
                }
            }

            var nginx = hops.FirstOrDefault(h => h.Hop == "nginx")?.Load;
            return new ScenarioResult(scenario.Name, scenario.Description, direct, through, nginx, directCost, throughCost) { Floor = floor, FloorCost = floorCost, Hops = hops };
        }
        finally
        {
            foreach (var upstream in upstreams)
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<WebApplication> StartProxyAsync(List<UpstreamProcess> upstreams)
    {
        var yaml = new StringBuilder($$"""
            server: { listen: http://127.0.0.1:0 }
            journal: { path: "" }
            chains:
              - name: bench
                chain_id: {{StaticUpstream.ChainId}}
                upstreams:

            """);
        for (var i = 0; i < upstreams.Count; i++)
        {
            // node-0 (the one that fails in the failover scenario) is the only primary, so it stays
            // first in the ranking and every failure it returns is a real failover.
            yaml.AppendLine($"      - {{ name: node-{i}, url: \"{upstreams[i].Url}\", tier: {(i == 0 ? "primary" : "fallback")} }}");
        }

        yaml.AppendLine("""
                routing:
                  health: { interval: 1s, timeout: 1s, fail_after: 1000000, recover_after: 1 }
                  retries: 2
            """);
        return await StartHostAsync(yaml.ToString()).ConfigureAwait(false);
    }

    /// <summary>RpcShield in this process from <paramref name="yaml"/>, on an ephemeral loopback port.</summary>
    public static async Task<WebApplication> StartHostAsync(string yaml)
    {
        var config = ConfigLoader.LoadText(yaml);
        if (!config.IsValid)
        {
            throw new InvalidOperationException(string.Join("; ", config.Errors));
        }

        var app = RpcShieldHost.Build(config.Options!, configPath: null, new HostSettings
        {
            ListenOverride = "http://127.0.0.1:0",
            MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        });
        await app.StartAsync().ConfigureAwait(false);
        return app;
    }
}
