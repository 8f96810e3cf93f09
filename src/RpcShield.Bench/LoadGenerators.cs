using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RpcShield.Bench;

/// <summary>What one load run measured at the client.</summary>
internal sealed record LoadResult(long Requests, long Errors, double Seconds, double P50Ms, double P90Ms, double P99Ms, double P999Ms, string Generator)
{
    public double RequestsPerSecond => Requests / Seconds;
}

internal interface ILoadGenerator
{
    Task<LoadResult> RunAsync(string url, string body, int connections, TimeSpan duration);
}

/// <summary>wrk (1 thread, N keep-alive connections, POST) — the same tool as the nginx/HAProxy figures in the issue.</summary>
internal sealed class WrkLoad : ILoadGenerator
{
    public static bool IsAvailable => File.Exists("/usr/bin/wrk") || File.Exists("/usr/local/bin/wrk");

    public async Task<LoadResult> RunAsync(string url, string body, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Path.GetTempPath(), $"rpcshield-bench-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, $$"""
            wrk.method = "POST"
            wrk.body = [==[{{body}}]==]
            wrk.headers["Content-Type"] = "application/json"
            -- The bare hop: nothing is looked up in or stored to RpcShield's cache.
            wrk.headers["Cache-Control"] = "no-cache"
            {{WrkMix.Done}}
            """).ConfigureAwait(false);
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

/// <summary>Fallback when wrk is not installed: N concurrent HttpClient loops in this process.</summary>
internal sealed class BuiltInLoad : ILoadGenerator
{
    public async Task<LoadResult> RunAsync(string url, string body, int connections, TimeSpan duration)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var payload = Encoding.UTF8.GetBytes(body);
        var latencies = new List<double>[connections];
        long errors = 0;
        var stopwatch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, connections).Select(async i =>
        {
            var mine = latencies[i] = new List<double>(100_000);
            while (stopwatch.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var content = new ByteArrayContent(payload);
                    content.Headers.ContentType = new("application/json");
                    content.Headers.TryAddWithoutValidation("Cache-Control", "no-cache");
                    using var response = await client.PostAsync(url, content).ConfigureAwait(false);
                    await response.Content.CopyToAsync(Stream.Null).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double P(double q) => RpcShield.Telemetry.Quantile.NearestRank(all, q) ?? 0;
        return new LoadResult(all.Length, errors, seconds, P(0.5), P(0.9), P(0.99), P(0.999), "built-in");
    }
}

internal static class Fmt
{
    public static string N(double value, string format = "0.###") => value.ToString(format, CultureInfo.InvariantCulture);
}
