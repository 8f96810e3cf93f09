using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;
using RpcShield.Configuration;

namespace RpcShield.Bench;

/// <summary>What the fan-out scenario measured: bot send → last of N builders holding the body.</summary>
internal sealed record FanoutResult(int Builders, int Bundles, bool Signed, double DirectP50Ms, double DirectP99Ms, double FanoutP50Ms, double FanoutP99Ms)
{
    public double AddedP50Ms => FanoutP50Ms - DirectP50Ms;

    public double AddedP99Ms => FanoutP99Ms - DirectP99Ms;
}

/// <summary>
/// Issue 5's fan-out speed check: time from the bundle request leaving the bot to the LAST of
/// <c>builders</c> local builders having read the whole body, compared with a direct send to
/// one builder. Sequential sends, so each bundle's arrivals are unambiguous.
/// </summary>
internal static class FanoutScenario
{
    public static async Task<FanoutResult> RunAsync(int builders, int bundles, bool signed, TextWriter log)
    {
        var sinks = new List<BuilderSink>();
        await using var upstream = await StaticUpstream.StartAsync().ConfigureAwait(false);
        try
        {
            for (var i = 0; i < builders; i++)
            {
                sinks.Add(await BuilderSink.StartAsync().ConfigureAwait(false));
            }

            var yaml = new StringBuilder($$"""
                server: { listen: http://127.0.0.1:0 }
                journal: { path: "" }
                signing: { flashbots_key: "0x{{new string('4', 64)}}" }
                chains:
                  - name: bench
                    chain_id: {{StaticUpstream.ChainId}}
                    upstreams:
                      - { name: node, url: "{{upstream.Url}}" }
                    builders:

                """);
            for (var i = 0; i < sinks.Count; i++)
            {
                yaml.AppendLine($"          - {{ name: b{i}, url: \"{sinks[i].Url}\", sign: {(signed ? "true" : "false")}, timeout: 2s }}");
            }

            var config = ConfigLoader.LoadText(yaml.ToString());
            if (!config.IsValid)
            {
                throw new InvalidOperationException(string.Join("; ", config.Errors));
            }

            await using var proxy = RpcShieldHost.Build(config.Options!, null, new HostSettings { ListenOverride = "http://127.0.0.1:0", MinimumLogLevel = LogLevel.Warning });
            await proxy.StartAsync().ConfigureAwait(false);
            using var client = new HttpClient();
            var body = BundleBody();
            log.WriteLine($"[fanout] {builders} builders, {bundles} bundles, signing {(signed ? "on" : "off")}…");

            var direct = await MeasureAsync(client, sinks[0].Url, body, [sinks[0]], bundles).ConfigureAwait(false);
            var fanout = await MeasureAsync(client, proxy.BoundAddress().ToString(), body, sinks, bundles).ConfigureAwait(false);
            return new FanoutResult(builders, bundles, signed, P(direct, 0.5), P(direct, 0.99), P(fanout, 0.5), P(fanout, 0.99));
        }
        finally
        {
            foreach (var sink in sinks)
            {
                await sink.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<double[]> MeasureAsync(HttpClient client, string url, byte[] body, IReadOnlyList<BuilderSink> sinks, int count)
    {
        var samples = new double[count];
        for (var i = -20; i < count; i++)
        {
            var before = sinks.Select(s => s.Count).ToArray();
            var start = Stopwatch.GetTimestamp();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await client.PostAsync(url, content).ConfigureAwait(false);
            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            long last = 0;
            for (var s = 0; s < sinks.Count; s++)
            {
                last = Math.Max(last, await sinks[s].WaitForArrivalAsync(before[s]).ConfigureAwait(false));
            }

            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(start, last).TotalMilliseconds;
            }
        }

        Array.Sort(samples);
        return samples;
    }

    private static double P(double[] sorted, double q) => RpcShield.Telemetry.Quantile.NearestRank(sorted, q) ?? 0;

    private static byte[] BundleBody()
    {
        var key = new EthECKey(("0x" + new string('5', 64)).HexToByteArray(), isPrivate: true);
        var tx = new Transaction1559(StaticUpstream.ChainId, 0, 1_000_000_000, 30_000_000_000, 21_000, "0x000000000000000000000000000000000000dEaD", 1, "", null);
        var raw = new Transaction1559Signer().SignTransaction(key.GetPrivateKeyAsBytes(), tx).EnsureHexPrefix();
        return Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_sendBundle","params":[{"txs":["{{raw}}"],"blockNumber":"0x7fffffff"}]}""");
    }

    /// <summary>A local builder that answers like Flashbots and timestamps each fully read body.</summary>
    private sealed class BuilderSink : IAsyncDisposable
    {
        private static readonly byte[] Answer = """{"jsonrpc":"2.0","id":1,"result":{"bundleHash":"0x1111111111111111111111111111111111111111111111111111111111111111"}}"""u8.ToArray();
        private readonly ConcurrentQueue<long> _arrivals = new();
        private WebApplication? _app;

        public string Url { get; private set; } = "";

        public int Count => _arrivals.Count;

        public static async Task<BuilderSink> StartAsync()
        {
            var sink = new BuilderSink();
            (sink._app, var url) = await LoopbackApp.StartAsync(async context =>
            {
                await context.Request.Body.CopyToAsync(Stream.Null).ConfigureAwait(false);
                sink._arrivals.Enqueue(Stopwatch.GetTimestamp());
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(Answer).ConfigureAwait(false);
            }).ConfigureAwait(false);
            sink.Url = url + "/";
            return sink;
        }

        /// <summary>Timestamp of the arrival after <paramref name="seen"/> earlier ones.</summary>
        public async Task<long> WaitForArrivalAsync(int seen)
        {
            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 5;
            while (_arrivals.Count <= seen)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException("a builder never received the bundle");
                }

                await Task.Delay(1).ConfigureAwait(false);
            }

            return _arrivals.ElementAt(seen);
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync().ConfigureAwait(false);
                await _app.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
