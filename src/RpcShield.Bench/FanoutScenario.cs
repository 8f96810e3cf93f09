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

/// <summary>
/// What the fan-out scenario measured: bot send → last of N builders holding the body (and, to tell
/// where a tail comes from, → the first of them).
/// </summary>
internal sealed record FanoutResult(int Builders, int Bundles, bool Signed, double DirectP50Ms, double DirectP99Ms, double FanoutP50Ms, double FanoutP99Ms, bool SeparateProcess = true)
{
    public double FirstP50Ms { get; init; }

    public double FirstP99Ms { get; init; }

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
    /// <param name="separateProcess">Builders (and the node) in processes of their own, so RpcShield's thread pool serves only RpcShield and the bot.</param>
    public static async Task<FanoutResult> RunAsync(int builders, int bundles, bool signed, TextWriter log, bool separateProcess = true)
    {
        await using var sinks = await BuilderSinks.StartAsync(builders, separateProcess).ConfigureAwait(false);
        await using IAsyncDisposable upstream = separateProcess ? await UpstreamProcess.StartAsync(0).ConfigureAwait(false) : await StaticUpstream.StartAsync().ConfigureAwait(false);
        var upstreamUrl = upstream is UpstreamProcess process ? process.Url : ((StaticUpstream)upstream).Url;
        var yaml = new StringBuilder($$"""
            server: { listen: http://127.0.0.1:0 }
            journal: { path: "" }
            signing: { flashbots_key: "0x{{new string('4', 64)}}" }
            chains:
              - name: bench
                chain_id: {{StaticUpstream.ChainId}}
                upstreams:
                  - { name: node, url: "{{upstreamUrl}}" }
                builders:

            """);
        for (var i = 0; i < builders; i++)
        {
            yaml.AppendLine($"          - {{ name: b{i}, url: \"{sinks.Urls[i]}\", sign: {(signed ? "true" : "false")}, timeout: 2s }}");
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
        log.WriteLine($"[fanout] {builders} builders ({(separateProcess ? "own process" : "in the bench's process")}), {bundles} bundles, signing {(signed ? "on" : "off")}…");

        var (direct, _) = await MeasureAsync(client, sinks.Urls[0], body, sinks, 1, bundles).ConfigureAwait(false);
        var (fanout, first) = await MeasureAsync(client, proxy.BoundAddress().ToString(), body, sinks, builders, bundles).ConfigureAwait(false);
        return new FanoutResult(builders, bundles, signed, P(direct, 0.5), P(direct, 0.99), P(fanout, 0.5), P(fanout, 0.99), separateProcess)
        {
            FirstP50Ms = P(first, 0.5),
            FirstP99Ms = P(first, 0.99),
        };
    }

    /// <summary>Sequential sends to <paramref name="url"/>; each sample ends when the first <paramref name="reached"/> builders all hold the body (and, second, when the first of them did).</summary>
    private static async Task<(double[] Last, double[] First)> MeasureAsync(HttpClient client, string url, byte[] body, BuilderSinks sinks, int reached, int count)
    {
        var samples = new double[count];
        var firsts = new double[count];
        for (var i = -20; i < count; i++)
        {
            var before = (await sinks.CountsAsync().ConfigureAwait(false))[..reached];
            var start = Stopwatch.GetTimestamp();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await client.PostAsync(url, content).ConfigureAwait(false);
            await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            var (first, last) = await sinks.ArrivalsAsync(before).ConfigureAwait(false);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(start, last).TotalMilliseconds;
                firsts[i] = Stopwatch.GetElapsedTime(start, first).TotalMilliseconds;
            }
        }

        Array.Sort(samples);
        Array.Sort(firsts);
        return (samples, firsts);
    }

    private static double P(double[] sorted, double q) => RpcShield.Telemetry.Quantile.NearestRank(sorted, q) ?? 0;

    private static byte[] BundleBody()
    {
        var key = new EthECKey(("0x" + new string('5', 64)).HexToByteArray(), isPrivate: true);
        var tx = new Transaction1559(StaticUpstream.ChainId, 0, 1_000_000_000, 30_000_000_000, 21_000, "0x000000000000000000000000000000000000dEaD", 1, "", null);
        var raw = new Transaction1559Signer().SignTransaction(key.GetPrivateKeyAsBytes(), tx).EnsureHexPrefix();
        return Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_sendBundle","params":[{"txs":["{{raw}}"],"blockNumber":"0x7fffffff"}]}""");
    }
}
