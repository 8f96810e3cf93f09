using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using RpcShield.Features.Fanout;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Telemetry;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>
/// `telemetry.otlp_endpoint`: spans seen through the SDK's in-memory exporter added beside the
/// configured OTLP exporter (whose collector is a closed port here); and off without the key.
/// </summary>
public sealed class TracingTests
{
    private const string Key = "SuperSecretKey123";
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    internal static string WithTelemetry(string yaml, string endpoint) => yaml + $"\ntelemetry: {{ otlp_endpoint: \"{endpoint}\" }}\n";

    /// <summary>A W3C traceparent as a bot sends it (sampled), and its ids.</summary>
    internal static (string Header, ActivityTraceId TraceId, ActivitySpanId SpanId) BotTrace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var spanId = ActivitySpanId.CreateRandom();
        return ($"00-{traceId.ToHexString()}-{spanId.ToHexString()}-01", traceId, spanId);
    }

    internal static HttpRequestMessage Call(string body, string traceparent)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        return request;
    }

    [Fact]
    public async Task A_call_is_one_span_in_the_bots_trace_with_a_child_per_upstream_attempt_and_no_url_or_key()
    {
        var spans = new List<Activity>();
        await using var node = await AnvilNode.StartAsync();
        var yaml = WithTelemetry(Yaml.Chain([("keyed", $"{node.Url}/?apikey={Key}")]), $"http://127.0.0.1:{MetricsExpositionTests.DeadPort()}");
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, services: s => s.ConfigureOpenTelemetryTracerProvider(b => b.AddInMemoryExporter(spans)));
        await proxy.WaitRoutableAsync(1);
        Assert.True(proxy.Services.GetRequiredService<RpcTracing>().Enabled);

        var (traceparent, traceId, botSpan) = BotTrace();
        using (var request = Call("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]}""", traceparent))
        using (var response = await proxy.Client.SendAsync(request))
        {
            Assert.Contains("\"result\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var mine = Snapshot(spans).Where(s => s.TraceId == traceId).ToList();
        var call = Assert.Single(mine, s => s.Kind == ActivityKind.Server);
        Assert.Equal("eth_getBalance", call.DisplayName);
        Assert.Equal(botSpan, call.ParentSpanId);
        Assert.Equal("test", call.GetTagItem("rpcshield.chain"));
        Assert.Equal("eth_getBalance", call.GetTagItem("rpc.method"));
        Assert.Equal("ok", call.GetTagItem("rpcshield.outcome"));
        Assert.Equal("full", call.GetTagItem("rpcshield.mode"));
        Assert.Equal("keyed", call.GetTagItem("rpcshield.upstream"));
        var attempt = Assert.Single(mine, s => s.Kind == ActivityKind.Client);
        Assert.Equal("upstream attempt", attempt.DisplayName);
        Assert.Equal(call.SpanId, attempt.ParentSpanId);
        Assert.Equal("keyed", attempt.GetTagItem("rpcshield.upstream"));
        Assert.Equal("ok", attempt.GetTagItem("rpcshield.outcome"));

        // Health probes run outside any call: they make no spans, so a trace is only the bot's calls.
        Assert.All(Snapshot(spans), s => Assert.NotEqual(default, s.ParentSpanId));
        AssertNoSecrets(Snapshot(spans), node.Port);
    }

    [Fact]
    public async Task A_failover_shows_both_attempts_and_a_batch_one_span_per_item()
    {
        var spans = new List<Activity>();
        await using var good = await AnvilNode.StartAsync();
        await using var stalled = await AnvilNode.StartAsync();
        // The good node is a fallback, so the stalled primary is always tried first while it is still routable
        // (with two equal primaries the ranking may never pick the one about to stall).
        var chain = Yaml.Chain([("good", good.Url), ("stalled", stalled.Url)])
            .Replace($"url: \"{good.Url}\" }}", $"url: \"{good.Url}\", tier: fallback }}", StringComparison.Ordinal);
        Assert.Contains("tier: fallback", chain, StringComparison.Ordinal);
        var yaml = WithTelemetry(chain, $"http://127.0.0.1:{MetricsExpositionTests.DeadPort()}");
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, services: s => s.ConfigureOpenTelemetryTracerProvider(b => b.AddInMemoryExporter(spans)));
        await proxy.WaitRoutableAsync(2);
        // A paused node keeps its socket and answers nothing: its attempt times out (1.5 s) and the call moves on.
        stalled.Pause();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<Activity> attempts = [];
        while (DateTime.UtcNow < deadline)
        {
            var (traceparent, traceId, _) = BotTrace();
            using (var request = Call("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]}""", traceparent))
            using (var response = await proxy.Client.SendAsync(request))
            {
                Assert.Contains("\"result\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            attempts = Snapshot(spans).Where(s => s.TraceId == traceId && s.Kind == ActivityKind.Client).ToList();
            if (attempts.Count >= 2)
            {
                break;
            }
        }

        stalled.Resume();
        Assert.True(attempts.Count >= 2, "no call ever tried the stalled node first");
        // The stalled attempt times out, or is cancelled once a hedge to the good node has answered.
        var described = string.Join("; ", attempts.Select(a => $"{a.GetTagItem("rpcshield.upstream")}={a.GetTagItem("rpcshield.outcome")}"));
        Assert.True(attempts.Any(a => (string?)a.GetTagItem("rpcshield.upstream") == "stalled" && (string?)a.GetTagItem("rpcshield.outcome") is "timeout" or "cancelled"), described);
        Assert.Contains(attempts, a => (string?)a.GetTagItem("rpcshield.upstream") == "good" && (string?)a.GetTagItem("rpcshield.outcome") == "ok");
        Assert.Single(attempts.Select(a => a.ParentSpanId).Distinct());

        var (batchParent, batchTrace, _) = BotTrace();
        using (var request = Call("""[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]}]""", batchParent))
        using (var response = await proxy.Client.SendAsync(request))
        {
            response.EnsureSuccessStatusCode();
        }

        var items = Snapshot(spans).Where(s => s.TraceId == batchTrace && s.Kind == ActivityKind.Server).Select(s => s.DisplayName).Order().ToArray();
        Assert.Equal(["eth_chainId", "eth_getBalance"], items);
    }

    [Fact]
    public async Task Builder_submissions_are_children_of_the_bundle_call_with_name_and_outcome()
    {
        var spans = new List<Activity>();
        await using var anvil = await AnvilNode.StartAsync();
        await using var fast = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
        var yaml = WithTelemetry(
            FanoutTests.Config(anvil.Url, [$"{{ name: fast, url: \"{fast.Url}/?key={Key}\", timeout: 2s }}", $"{{ name: down, url: \"{FakeBuilder.DownUrl()}\", timeout: 2s }}"]),
            $"http://127.0.0.1:{MetricsExpositionTests.DeadPort()}");
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, FanoutTests.Env, s => s.ConfigureOpenTelemetryTracerProvider(b => b.AddInMemoryExporter(spans)));
        await FanoutTests.WaitForHeadAsync(proxy);

        var (traceparent, traceId, _) = BotTrace();
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, Recipient, 1);
        using (var request = Call(FanoutTests.Bundle([tx], await anvil.BlockNumberAsync() + 3, 7), traceparent))
        using (var response = await proxy.Client.SendAsync(request))
        {
            Assert.Contains("bundleHash", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Submissions may end after the answer (first success wins): wait for both.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (Snapshot(spans).Count(s => s.TraceId == traceId && s.DisplayName == "builder submission") < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var mine = Snapshot(spans).Where(s => s.TraceId == traceId).ToList();
        var call = Assert.Single(mine, s => s.Kind == ActivityKind.Server);
        Assert.Equal("eth_sendBundle", call.DisplayName);
        var submissions = mine.Where(s => s.DisplayName == "builder submission").ToList();
        Assert.Equal(2, submissions.Count);
        Assert.All(submissions, s => Assert.Equal(call.SpanId, s.ParentSpanId));
        Assert.Contains(submissions, s => (string?)s.GetTagItem("rpcshield.builder") == "fast" && (string?)s.GetTagItem("rpcshield.outcome") == "ok");
        Assert.Contains(submissions, s => (string?)s.GetTagItem("rpcshield.builder") == "down" && (string?)s.GetTagItem("rpcshield.outcome") == "error");
        AssertNoSecrets(mine, new Uri(fast.Url).Port);
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_there_is_no_source_and_no_span()
    {
        var spans = new List<Activity>();
        using var listener = Sdk.CreateTracerProviderBuilder().AddSource(RpcTracing.SourceName).AddInMemoryExporter(spans).Build();
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("node", node.Url)]));
        Assert.False(proxy.Services.GetRequiredService<RpcTracing>().Enabled);
        Assert.Null(proxy.Services.GetService<TracerProvider>());

        var (traceparent, traceId, _) = BotTrace();
        using var request = Call("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""", traceparent);
        using var response = await proxy.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        Assert.DoesNotContain(Snapshot(spans), s => s.TraceId == traceId);
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
        {
            return [.. spans];
        }
    }

    /// <summary>No attribute, name or status text carries the key or an address.</summary>
    private static void AssertNoSecrets(IEnumerable<Activity> spans, int port)
    {
        foreach (var span in spans)
        {
            var texts = span.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(span.DisplayName).Append(span.StatusDescription ?? "");
            foreach (var text in texts)
            {
                Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
                Assert.DoesNotContain("://", text, StringComparison.Ordinal);
                Assert.DoesNotContain($":{port}", text, StringComparison.Ordinal);
            }
        }
    }
}
