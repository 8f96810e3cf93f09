using System.Diagnostics;
using RpcShield.Features.Fanout;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Telemetry;

/// <summary>
/// OpenTelemetry spans (`telemetry.otlp_endpoint`): one per client call, continuing the bot's
/// `traceparent`, with a child per upstream attempt and per builder submission. Attributes carry
/// names from `proxy.yaml`, outcomes and scrubbed reasons, never a URL or a key. Without the
/// endpoint there is no <see cref="ActivitySource"/> at all: every method returns after one field
/// read, so the request path allocates nothing for tracing.
/// </summary>
internal sealed class RpcTracing : IDisposable
{
    public const string SourceName = "RpcShield";

    private readonly ActivitySource? _source;

    public RpcTracing(bool enabled)
    {
        if (enabled)
        {
            _source = new ActivitySource(SourceName, typeof(RpcTracing).Assembly.GetName().Version?.ToString());
        }
    }

    public bool Enabled => _source is not null;

    /// <summary>
    /// Starts the client call's span, made current so the attempts routing starts below it become
    /// its children. Null when tracing is off or nothing listens.
    /// </summary>
    public Activity? StartCall(RpcCall call, string method)
    {
        if (_source is not { } source || !source.HasListeners())
        {
            return null;
        }

        var headers = call.RequestHeaders;
        var parent = headers.TryGetValue("traceparent", out var traceparent)
            && ActivityContext.TryParse(traceparent.ToString(), headers.TryGetValue("tracestate", out var state) ? state.ToString() : null, isRemote: true, out var remote)
            ? remote
            : default;
        // The span name is the metric's bounded method label: a client cannot invent span names.
        var label = KnownMethods.Label(method);
        var span = source.StartActivity(label, ActivityKind.Server, parent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("rpc.system", "jsonrpc");
            span.SetTag("rpc.method", label);
            span.SetTag("rpcshield.chain", call.Chain.Name);
            span.SetTag("rpcshield.transport", call.Transport == RpcTransport.Http ? "http" : "websocket");
        }

        return span;
    }

    /// <summary>Ends the span <see cref="StartCall"/> made current in this flow, with the call's outcome, mode and cache result.</summary>
    public void EndCall(RpcCall call, string outcome, string? servedBy, string mode)
    {
        if (_source is null || Activity.Current is not { } span || span.Source != _source || span.Kind != ActivityKind.Server)
        {
            return;
        }

        if (span.IsAllDataRequested)
        {
            span.SetTag("rpcshield.outcome", outcome);
            span.SetTag("rpcshield.mode", mode);
            if (servedBy is not null)
            {
                span.SetTag("rpcshield.upstream", servedBy);
            }

            foreach (var (header, value) in call.Annotations())
            {
                if (string.Equals(header, "X-RpcShield-Cache", StringComparison.OrdinalIgnoreCase))
                {
                    span.SetTag("rpcshield.cache", value);
                }
            }

            if (outcome is not ("ok" or "upstream_error"))
            {
                span.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }

        span.Stop();
    }

    /// <summary>A child span for one settled upstream attempt (only under a client call's span: health probes make none).</summary>
    public void Attempt(AttemptOutcome attempt)
    {
        if (_source is null || attempt.Upstream is not { } upstream)
        {
            return;
        }

        Child("upstream attempt", attempt.Latency, "rpcshield.upstream", upstream.Name, upstream.Chain, AttemptLabel(attempt.Kind), attempt.Reason);
    }

    /// <summary>A child span for one builder submission.</summary>
    public void Submission(string chain, BuilderOutcome outcome)
    {
        if (_source is null)
        {
            return;
        }

        Child("builder submission", outcome.Latency, "rpcshield.builder", outcome.Builder, chain, outcome.Kind switch
        {
            BuilderOutcomeKind.Ok => "ok",
            BuilderOutcomeKind.Timeout => "timeout",
            BuilderOutcomeKind.Throttled => "throttled",
            _ => "error",
        }, outcome.Reason);
    }

    /// <summary>Outcome attribute of an attempt, in the words of `rpcshield_upstream_requests_total`.</summary>
    internal static string AttemptLabel(AttemptKind kind) => kind switch
    {
        AttemptKind.Answered or AttemptKind.Unsupported => "ok",
        AttemptKind.NodeError or AttemptKind.Unconfirmed => "node_error",
        AttemptKind.Throttled => "throttled",
        AttemptKind.Timeout => "timeout",
        AttemptKind.Cancelled => "cancelled",
        AttemptKind.Behind => "behind",
        AttemptKind.Rejected => "rejected",
        _ => "error",
    };

    /// <summary>Recorded when the result is known, back-dated by its latency (nothing is kept while it runs).</summary>
    private void Child(string name, TimeSpan latency, string targetKey, string target, string chain, string outcome, string? reason)
    {
        if (Activity.Current is not { } parent || parent.Source != _source || parent.Kind != ActivityKind.Server || !parent.IsAllDataRequested)
        {
            return;
        }

        // No explicit parent context: the current span becomes the parent and is current again when this one stops.
        using var span = _source.StartActivity(name, ActivityKind.Client, default(ActivityContext), startTime: DateTimeOffset.UtcNow - latency);
        if (span is null)
        {
            return;
        }

        span.SetTag(targetKey, target);
        span.SetTag("rpcshield.chain", chain);
        span.SetTag("rpcshield.outcome", outcome);
        if (!string.IsNullOrEmpty(reason) && outcome != "ok")
        {
            span.SetTag("rpcshield.reason", reason);
            span.SetStatus(ActivityStatusCode.Error, outcome);
        }
    }

    public void Dispose() => _source?.Dispose();
}
