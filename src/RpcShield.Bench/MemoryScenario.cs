using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;

namespace RpcShield.Bench;

/// <summary>What the memory scenario measured.</summary>
internal sealed record MemoryResult(long Requests, double Seconds, long Errors, long MaxBytes, double CacheBytes, double CapacityEvictions, long HeapGrowthBytes, long PeakHeapBytes);

/// <summary>
/// `memory`: distinct old blocks (each read once, so every read is a miss that is kept) from a
/// synthetic upstream that generates them, through RpcShield with `cache.max_bytes` 64MiB: the
/// byte gauge and the managed heap's growth must stay within 1.1 × max_bytes.
/// </summary>
internal static class MemoryScenario
{
    private const long MaxBytes = 64L << 20;

    public static async Task<MemoryResult> RunAsync(int connections, TimeSpan duration, TextWriter log)
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
        log.WriteLine($"[memory] {duration.TotalSeconds}s of distinct old blocks through RpcShield, max_bytes 64MiB…");
        var (load, cost) = await ProcessCost.MeasureAsync(() => DistinctBlocksAsync(url, connections, duration)).ConfigureAwait(false);
        GC.Collect();
        var heapAfter = GC.GetTotalMemory(true);
        using var client = new HttpClient();
        var metrics = await client.GetStringAsync(url + "metrics").ConfigureAwait(false);
        return new MemoryResult(load.Requests, load.Seconds, load.Errors, MaxBytes,
            Sample(metrics, "rpcshield_cache_bytes{chain=\"bench\"}"),
            Sample(metrics, "rpcshield_cache_evictions_total{chain=\"bench\",reason=\"capacity\"}"),
            heapAfter - cost.StartHeapBytes, cost.PeakHeapBytes);
    }

    public static void Print(MemoryResult? result, TextWriter output)
    {
        if (result is not { } r)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine("| memory | distinct blocks read | req/s | errors | rpcshield_cache_bytes | capacity evictions | heap growth (after full GC) | peak heap | limit 1.1 × max_bytes |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        output.WriteLine($"| 64MiB | {r.Requests} | {Fmt.N(r.Requests / r.Seconds, "0")} | {r.Errors} | {Fmt.N(r.CacheBytes / 1048576, "0.0")} MiB | {Fmt.N(r.CapacityEvictions, "0")} | {Fmt.N(r.HeapGrowthBytes / 1048576.0, "0.0")} MiB | {Fmt.N(r.PeakHeapBytes / 1048576.0, "0.0")} MiB | {Fmt.N(r.MaxBytes * 1.1 / 1048576, "0.0")} MiB |");
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

    private static async Task<LoadResult> DistinctBlocksAsync(string url, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Path.GetTempPath(), $"rpcshield-memory-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            counter = 0
            request = function()
              counter = counter + 1
              return wrk.format(nil, nil, nil, '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x' .. string.format("%x", counter) .. '",false]}')
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
