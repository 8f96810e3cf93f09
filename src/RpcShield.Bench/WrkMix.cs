using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace RpcShield.Bench;

/// <summary>wrk (1 thread, N keep-alive connections) cycling through a list of request bodies (a bot's read mix), no cache header.</summary>
internal static class WrkMix
{
    /// <summary>The Lua `done` hook every bench wrk script ends with: one BENCHJSON summary line.</summary>
    public const string Done = """
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"errors\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d,\"p999\":%d}\n",
            summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
            latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
        end
        """;

    public static async Task<LoadResult> RunAsync(string url, IReadOnlyList<string> bodies, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Path.GetTempPath(), $"rpcshield-botmix-{Guid.NewGuid():N}.lua");
        var list = new StringBuilder();
        foreach (var body in bodies)
        {
            list.Append("  [==[").Append(body).Append("]==],\n");
        }

        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            bodies = {
            {{list}}}
            counter = 0
            request = function()
              counter = counter + 1
              return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
            end
            {{Done}}
            """).ConfigureAwait(false);
        try
        {
            return await RunScriptAsync(url, script, connections, duration).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>Runs wrk with a Lua script that prints the BENCHJSON summary line.</summary>
    public static async Task<LoadResult> RunScriptAsync(string url, string script, int connections, TimeSpan duration)
    {
        {
            var info = new ProcessStartInfo("wrk", $"-t1 -c{connections} -d{(int)Math.Ceiling(duration.TotalSeconds)}s --timeout 10s -s {script} {url}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await process.WaitForExitAsync().ConfigureAwait(false);
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("BENCHJSON ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException("wrk printed no summary: " + output);
            using var json = JsonDocument.Parse(line["BENCHJSON ".Length..]);
            var root = json.RootElement;
            double Us(string name) => root.GetProperty(name).GetDouble() / 1000.0;
            return new LoadResult(
                root.GetProperty("requests").GetInt64(),
                root.GetProperty("errors").GetInt64(),
                root.GetProperty("duration_us").GetDouble() / 1e6,
                Us("p50"), Us("p90"), Us("p99"), Us("p999"), "wrk");
        }
    }
}
