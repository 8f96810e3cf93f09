using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;

namespace RpcShield.Bench;

/// <summary>What the memory scenario measured.</summary>
internal sealed record MemoryResult(long Requests, double Seconds, long Errors, long MaxBytes, double CacheBytes, double CapacityEvictions, long HeapGrowthBytes, long PeakHeapBytes)
{
    /// <summary>Items per client batch (1: single requests).</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Distinct blocks the proxy read from the upstream and kept (its own eth_getBlockByNumber miss count).</summary>
    public double Blocks { get; init; }

    /// <summary>The highest `rpcshield_cache_bytes` sampled once a second during the run.</summary>
    public double PeakCacheBytes { get; init; }

    /// <summary>Kept answers served (hits): 0 when every block was read once.</summary>
    public double Hits { get; init; }

    /// <summary>Distinct blocks read within the first 60 s (the last once-a-second sample at or before 60 s).</summary>
    public double BlocksAt60s { get; init; } = -1;

    /// <summary>Seconds until the millionth distinct block was read (-1: not reached).</summary>
    public double SecondsToMillion { get; init; } = -1;
}

/// <summary>
/// `memory`: distinct old blocks (each read once, so every read is a miss that is kept) from a
/// synthetic upstream that generates them, through RpcShield with `cache.max_bytes` 64MiB: the
/// byte gauge and the managed heap's growth must stay within 1.1 × max_bytes. The client sends
/// JSON-RPC batches of `batch` distinct blocks (100 by default, the upstream's max_batch; each item
/// is looked up and kept on its own, the misses go upstream as one batch), so a loaded 2-core box reaches a million blocks in a minute.
/// </summary>
internal static class MemoryScenario
{
    private const long MaxBytes = 64L << 20;

    public static async Task<MemoryResult> RunAsync(int connections, TimeSpan duration, int batch, TextWriter log)
    {
        await using var upstream = await UpstreamProcess.StartAsync(0).ConfigureAwait(false);
        await using var app = await ScenarioRunner.StartHostAsync($$"""
            server: { listen: http://127.0.0.1:0 }
            journal: { path: "" }
            cache: { max_bytes: 64MiB }
            chains:
              - name: bench
                chain_id: {{StaticUpstream.ChainId}}
                upstreams:
                  - { name: synthetic, url: "{{upstream.Url}}" }
                routing:
                  health: { interval: 1s, timeout: 1s, fail_after: 1000000, recover_after: 1 }
            """).ConfigureAwait(false);
        await Task.Delay(1500).ConfigureAwait(false);
        var url = app.BoundAddress().ToString();
        log.WriteLine($"[memory] {duration.TotalSeconds}s of distinct old blocks through RpcShield, max_bytes 64MiB, {connections} connections, batches of {batch}…");
        using var client = new HttpClient();
        using var sampling = new CancellationTokenSource();
        var peak = SamplePeakAsync(client, url, sampling.Token);
        var (load, cost) = await ProcessCost.MeasureAsync(() => DistinctBlocksAsync(url, connections, duration, batch)).ConfigureAwait(false);
        await sampling.CancelAsync().ConfigureAwait(false);
        var (peakCacheBytes, at60, toMillion) = await peak.ConfigureAwait(false);
        GC.Collect();
        var heapAfter = GC.GetTotalMemory(true);
        var metrics = await client.GetStringAsync(url + "metrics").ConfigureAwait(false);
        var cacheBytes = Sample(metrics, "rpcshield_cache_bytes{chain=\"bench\"}");
        return new MemoryResult(load.Requests, load.Seconds, load.Errors, MaxBytes, cacheBytes,
            Sample(metrics, "rpcshield_cache_evictions_total{chain=\"bench\",reason=\"capacity\"}"),
            heapAfter - cost.StartHeapBytes, cost.PeakHeapBytes)
        {
            Batch = batch,
            Blocks = Sample(metrics, "rpcshield_cache_requests_total{chain=\"bench\",method=\"eth_getBlockByNumber\",result=\"miss\"}"),
            Hits = Math.Max(0, Sample(metrics, "rpcshield_cache_requests_total{chain=\"bench\",method=\"eth_getBlockByNumber\",result=\"hit\"}")),
            PeakCacheBytes = Math.Max(peakCacheBytes, cacheBytes),
            BlocksAt60s = at60,
            SecondsToMillion = toMillion,
        };
    }

    /// <summary>
    /// Scrapes the proxy once a second until cancelled: the highest `rpcshield_cache_bytes`, the blocks
    /// read when 60 s had passed, and when the millionth was read.
    /// </summary>
    private static async Task<(double Peak, double At60, double ToMillion)> SamplePeakAsync(HttpClient client, string url, CancellationToken cancellationToken)
    {
        const string Misses = "rpcshield_cache_requests_total{chain=\"bench\",method=\"eth_getBlockByNumber\",result=\"miss\"}";
        var (peak, at60, toMillion) = (0.0, -1.0, -1.0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var metrics = await client.GetStringAsync(url + "metrics", cancellationToken).ConfigureAwait(false);
                var seconds = clock.Elapsed.TotalSeconds;
                var blocks = Sample(metrics, Misses);
                peak = Math.Max(peak, Sample(metrics, "rpcshield_cache_bytes{chain=\"bench\"}"));
                if (seconds <= 60)
                {
                    at60 = blocks;
                }

                if (toMillion < 0 && blocks >= 1_000_000)
                {
                    toMillion = seconds;
                }

                await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return (peak, at60, toMillion);
    }

    public static void Print(MemoryResult? result, TextWriter output)
    {
        if (result is not { } r)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine($"memory: blocks read within the first 60 s: {Fmt.N(r.BlocksAt60s, "0")}; the millionth read after {Fmt.N(r.SecondsToMillion, "0")} s (-1: not within the run)");
        output.WriteLine("| max_bytes | client batch | distinct blocks read (proxy misses) | hits | HTTP req/s | blocks/s | errors | peak rpcshield_cache_bytes | at the end | capacity evictions | heap growth (after full GC) | peak heap | limit 1.1 × max_bytes |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        output.WriteLine($"| 64MiB | {r.Batch} | {Fmt.N(r.Blocks, "0")} | {Fmt.N(r.Hits, "0")} | {Fmt.N(r.Requests / r.Seconds, "0")} | {Fmt.N(r.Blocks / r.Seconds, "0")} | {r.Errors} | {Fmt.N(r.PeakCacheBytes / 1048576, "0.0")} MiB | {Fmt.N(r.CacheBytes / 1048576, "0.0")} MiB | {Fmt.N(r.CapacityEvictions, "0")} | {Fmt.N(r.HeapGrowthBytes / 1048576.0, "0.0")} MiB | {Fmt.N(r.PeakHeapBytes / 1048576.0, "0.0")} MiB | {Fmt.N(r.MaxBytes * 1.1 / 1048576, "0.0")} MiB |");
    }

    private static double Sample(string metrics, string series)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(series, StringComparison.Ordinal))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    private static async Task<LoadResult> DistinctBlocksAsync(string url, int connections, TimeSpan duration, int batch)
    {
        var script = Path.Combine(Path.GetTempPath(), $"rpcshield-memory-{Guid.NewGuid():N}.lua");
        // Blocks 0x1, 0x2, … each read once (wrk -t1: one counter); a batch is `batch` consecutive ones.
        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            counter = 0
            batch = {{batch}}
            item = function(i)
              counter = counter + 1
              return '{"jsonrpc":"2.0","id":' .. i .. ',"method":"eth_getBlockByNumber","params":["0x' .. string.format("%x", counter) .. '",false]}'
            end
            request = function()
              if batch == 1 then
                return wrk.format(nil, nil, nil, item(1))
              end
              local items = {}
              for i = 1, batch do
                items[i] = item(i)
              end
              return wrk.format(nil, nil, nil, '[' .. table.concat(items, ',') .. ']')
            end
            {{WrkMix.Done}}
            """, Encoding.UTF8).ConfigureAwait(false);
        try
        {
            return await WrkMix.RunScriptAsync(url, script, connections, duration).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(script);
        }
    }
}
