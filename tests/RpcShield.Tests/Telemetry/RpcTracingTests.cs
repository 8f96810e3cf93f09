using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using RpcShield.Features.Fanout;
using RpcShield.Telemetry;
using RpcShield.Tests.Chaos;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Telemetry;

/// <summary><see cref="RpcTracing"/> against the OpenTelemetry SDK with its in-memory exporter.</summary>
public sealed class RpcTracingTests
{
    private readonly List<Activity> _spans = [];

    private TracerProvider Listen() => Sdk.CreateTracerProviderBuilder().AddSource(RpcTracing.SourceName).AddInMemoryExporter(_spans).Build();

    [Fact]
    public void A_call_continues_the_bots_trace_and_its_attempts_and_submissions_are_its_children()
    {
        using var provider = Listen();
        var kit = new ChaosTestKit(new RpcShield.Configuration.ChaosOptions());
        var traceId = ActivityTraceId.CreateRandom();
        var botSpan = ActivitySpanId.CreateRandom();
        kit.Call.RequestHeaders["traceparent"] = $"00-{traceId.ToHexString()}-{botSpan.ToHexString()}-01";
        kit.Call.RequestHeaders["tracestate"] = "bot=1";
        var tracing = new RpcTracing(enabled: true);

        var call = tracing.StartCall(kit.Call, "eth_call");
        Assert.NotNull(call);
        Assert.Same(call, Activity.Current);
        tracing.Attempt(new AttemptOutcome { Upstream = kit.Upstream, Kind = AttemptKind.Timeout, Reason = "timeout", Latency = TimeSpan.FromMilliseconds(40) });
        Assert.Same(call, Activity.Current);
        tracing.Attempt(new AttemptOutcome { Upstream = kit.Upstream, Kind = AttemptKind.Answered, Reason = "ok", Latency = TimeSpan.FromMilliseconds(3) });
        tracing.Submission("test", new BuilderOutcome { Builder = "titan", Kind = BuilderOutcomeKind.Throttled, Reason = "max_rps" });
        kit.Call.Annotate("X-RpcShield-Cache", "hit");
        tracing.EndCall(kit.Call, "ok", "a", "degraded");
        Assert.Null(Activity.Current);

        var server = Assert.Single(_spans, s => s.Kind == ActivityKind.Server);
        Assert.Equal(traceId, server.TraceId);
        Assert.Equal(botSpan, server.ParentSpanId);
        Assert.Equal("bot=1", server.TraceStateString);
        Assert.Equal("eth_call", server.DisplayName);
        Assert.Equal("degraded", server.GetTagItem("rpcshield.mode"));
        Assert.Equal("hit", server.GetTagItem("rpcshield.cache"));
        Assert.Equal("a", server.GetTagItem("rpcshield.upstream"));
        Assert.Equal(ActivityStatusCode.Unset, server.Status);
        var children = _spans.Where(s => s.Kind == ActivityKind.Client).ToList();
        Assert.Equal(3, children.Count);
        Assert.All(children, c => Assert.Equal(server.SpanId, c.ParentSpanId));
        var timedOut = Assert.Single(children, c => (string?)c.GetTagItem("rpcshield.outcome") == "timeout");
        Assert.Equal(ActivityStatusCode.Error, timedOut.Status);
        Assert.True(timedOut.Duration >= TimeSpan.FromMilliseconds(40), $"back-dated by its latency: {timedOut.Duration}");
        var submission = Assert.Single(children, c => c.DisplayName == "builder submission");
        Assert.Equal("titan", submission.GetTagItem("rpcshield.builder"));
        Assert.Equal("throttled", submission.GetTagItem("rpcshield.outcome"));
        Assert.Equal("max_rps", submission.GetTagItem("rpcshield.reason"));
    }

    [Fact]
    public void Off_there_is_no_span_even_with_a_listener_and_unknown_methods_never_name_a_span()
    {
        using var provider = Listen();
        var kit = new ChaosTestKit(new RpcShield.Configuration.ChaosOptions());
        var off = new RpcTracing(enabled: false);
        Assert.Null(off.StartCall(kit.Call, "eth_call"));
        off.Attempt(new AttemptOutcome { Upstream = kit.Upstream, Kind = AttemptKind.Answered, Reason = "ok" });
        off.EndCall(kit.Call, "ok", null, "full");
        Assert.Empty(_spans);

        // On, but a malformed traceparent: a new trace; a made-up method: the span is named `other`.
        var on = new RpcTracing(enabled: true);
        kit.Call.RequestHeaders["traceparent"] = "00-not-a-trace-01";
        var span = on.StartCall(kit.Call, "my_inventedMethod_0x1234");
        Assert.NotNull(span);
        on.EndCall(kit.Call, "error", null, "minimal");
        var only = Assert.Single(_spans);
        Assert.Equal("other", only.DisplayName);
        Assert.Equal(default, only.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Error, only.Status);
    }

    [Fact]
    public void Attempts_outside_a_client_call_such_as_health_probes_make_no_span()
    {
        using var provider = Listen();
        var kit = new ChaosTestKit(new RpcShield.Configuration.ChaosOptions());
        var tracing = new RpcTracing(enabled: true);
        Assert.Null(Activity.Current);
        tracing.Attempt(new AttemptOutcome { Upstream = kit.Upstream, Kind = AttemptKind.Answered, Reason = "ok" });
        tracing.Submission("test", new BuilderOutcome { Builder = "b", Kind = BuilderOutcomeKind.Ok, Reason = "ok" });
        Assert.Empty(_spans);
    }

    [Theory]
    [InlineData("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces")]
    [InlineData("http://collector:4318/", "http://collector:4318/v1/traces")]
    [InlineData("https://otel.example/custom/traces", "https://otel.example/custom/traces")]
    public void The_endpoint_gets_the_otlp_http_traces_path_unless_it_has_one(string endpoint, string expected) =>
        Assert.Equal(new Uri(expected), TracingServiceCollectionExtensions.TracesUrl(endpoint));

    [Theory]
    [InlineData("Answered", "ok")]
    [InlineData("Unsupported", "ok")]
    [InlineData("NodeError", "node_error")]
    [InlineData("HttpError", "error")]
    [InlineData("Transport", "error")]
    [InlineData("Throttled", "throttled")]
    [InlineData("Timeout", "timeout")]
    [InlineData("Rejected", "rejected")]
    public void Attempt_outcomes_use_the_metric_words(string kind, string label) => Assert.Equal(label, RpcTracing.AttemptLabel(Enum.Parse<AttemptKind>(kind)));
}
