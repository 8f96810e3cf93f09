using System.Net;
using System.Net.Http.Headers;
using Polly;
using Polly.Timeout;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Features.Fanout;

/// <summary>
/// Sends one submission body to one builder through that builder's pipeline
/// (<see cref="IBuilderStrategyContributor"/>s) within its `timeout`, and classifies the answer.
/// Never throws: every failure becomes a <see cref="BuilderOutcome"/>.
/// </summary>
internal sealed class BuilderSender
{
    /// <summary>Largest builder answer kept (builders answer with a hash or an error; anything bigger is refused).</summary>
    public const int MaxAnswerBytes = 1 << 20;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly TimeProvider _time;
    private readonly IBuilderStrategyContributor[] _contributors;
    private readonly Hosting.Security.SecretScrubber? _scrubber;
    private readonly Telemetry.RpcTracing? _tracing;
    private readonly Upstreams.Budgets.SharedBudgets? _shared;

    public BuilderSender(TimeProvider time, IEnumerable<IBuilderStrategyContributor> contributors, Hosting.Security.SecretScrubber? scrubber = null, Telemetry.RpcTracing? tracing = null, Upstreams.Budgets.SharedBudgets? shared = null)
    {
        _time = time;
        _tracing = tracing;
        _shared = shared is { Enabled: true } ? shared : null;
        _scrubber = scrubber;
        _contributors = contributors.OrderBy(c => c.Order).ToArray();
    }

    /// <summary>Submits <paramref name="body"/>; <paramref name="call"/> is the client call it is made for (builder-scope chaos annotates it), null for the proxy's own submissions.</summary>
    public async Task<BuilderOutcome> SendAsync(BuilderEndpoint builder, ReadOnlyMemory<byte> body, string method, string? signature, RpcCall? call, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        var maxRps = builder.Settings.MaxRps;
        var admitted = builder.Options.ShareBudget && maxRps > 0 && _shared is not null
            ? _shared.TryTake(Upstreams.Budgets.SharedBudgets.BuilderKind, builder.Chain, builder.Name, maxRps)
            : builder.TryAcquire();
        if (!admitted)
        {
            return Traced(builder, BuilderOutcome.Local(builder.Name, BuilderOutcomeKind.Throttled, "max_rps"));
        }

        using var timeout = new CancellationTokenSource(builder.Options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            if (_contributors.Length == 0)
            {
                return await SendCoreAsync(builder, body, signature, start, linked.Token).ConfigureAwait(false);
            }

            var pipeline = builder.Pipeline ??= BuildPipeline(builder);
            var context = ResilienceContextPool.Shared.Get(linked.Token);
            try
            {
                context.Properties.Set(BuilderAttemptKeys.Body, body);
                context.Properties.Set(BuilderAttemptKeys.Method, method);
                context.Properties.Set(BuilderAttemptKeys.Chain, builder.Chain);
                context.Properties.Set(AttemptKeys.Call, call);
                var outcome = await pipeline.ExecuteOutcomeAsync(
                    static async (ctx, state) => Outcome.FromResult(await state.Sender.SendCoreAsync(state.Builder, state.Body, state.Signature, state.Start, ctx.CancellationToken).ConfigureAwait(false)),
                    context,
                    new SendState(this, builder, body, signature, start)).ConfigureAwait(false);
                if (outcome.Exception is { } exception)
                {
                    if (exception is OperationCanceledException or TimeoutRejectedException)
                    {
                        throw exception is TimeoutRejectedException ? new OperationCanceledException() : exception;
                    }

                    return Finish(builder, BuilderOutcomeKind.Error, "pipeline_error", start);
                }

                return outcome.Result!;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Finish(builder, BuilderOutcomeKind.Timeout, "timeout", start);
        }
        catch (OperationCanceledException)
        {
            return Finish(builder, BuilderOutcomeKind.Error, "cancelled", start);
        }
    }

    private ResiliencePipeline<BuilderOutcome> BuildPipeline(BuilderEndpoint builder)
    {
        var pipeline = new ResiliencePipelineBuilder<BuilderOutcome> { TimeProvider = _time, Name = builder.Name };
        foreach (var contributor in _contributors)
        {
            contributor.Contribute(pipeline, builder);
        }

        return pipeline.Build();
    }

    private sealed record SendState(BuilderSender Sender, BuilderEndpoint Builder, ReadOnlyMemory<byte> Body, string? Signature, long Start);

    /// <summary>
    /// The exchange with the builder's best region; on no answer or a 5xx the next region is tried
    /// (within the same `timeout`). Cancellation (timeout) propagates to <see cref="SendAsync"/>.
    /// </summary>
    private async Task<BuilderOutcome> SendCoreAsync(BuilderEndpoint builder, ReadOnlyMemory<byte> body, string? signature, long start, CancellationToken cancellationToken)
    {
        var regions = builder.Regions;
        if (regions.Count == 1)
        {
            return await ExchangeAsync(builder, regions.Regions[0].Url, body, signature, start, cancellationToken).ConfigureAwait(false);
        }

        BuilderOutcome? outcome = null;
        foreach (var region in regions.Ranked())
        {
            var attempt = _time.GetTimestamp();
            try
            {
                outcome = await ExchangeAsync(builder, region.Url, body, signature, start, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                regions.Record(region, ok: false, _time.GetElapsedTime(attempt));
                throw;
            }

            var failed = outcome.StatusCode is 0 or >= 500;
            regions.Record(region, !failed, _time.GetElapsedTime(attempt));
            if (!failed)
            {
                return outcome;
            }
        }

        return outcome!;
    }

    /// <summary>One HTTP exchange with <paramref name="url"/>.</summary>
    private async Task<BuilderOutcome> ExchangeAsync(BuilderEndpoint builder, Uri url, ReadOnlyMemory<byte> body, string? signature, long start, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new ReadOnlyMemoryContent(body),
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            };
            request.Content.Headers.ContentType = Json;
            if (signature is not null)
            {
                request.Headers.TryAddWithoutValidation(builder.Settings.SignatureHeader, signature);
            }

            using var response = await builder.Invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
            using var buffer = new PooledBuffer(response.Content.Headers.ContentLength is long length and < MaxAnswerBytes ? (int)length + 16 : 4096);
            await using (var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!await buffer.ReadFromAsync(stream, MaxAnswerBytes, cancellationToken).ConfigureAwait(false))
                {
                    return Finish(builder, BuilderOutcomeKind.Error, "response_too_large", start, (int)response.StatusCode);
                }
            }

            var (kind, reason) = BuilderErrorClassifier.Classify((int)response.StatusCode, buffer.Span);
            // The builder's own message may quote a key from its URL: scrubbed before it reaches -32095, /status or the journal.
            reason = kind == BuilderOutcomeKind.Ok || _scrubber is null ? reason : _scrubber.Scrub(reason);
            var outcome = Finish(builder, kind, reason, start, (int)response.StatusCode, buffer.Span.ToArray());
            if (kind == BuilderOutcomeKind.Ok && builder.Settings.Shape == BuilderResultShape.BundleHash)
            {
                // The builder's own id (BuilderNet's differs from the portable one), kept beside the portable hash.
                outcome.BuilderBundleHash = BuilderErrorClassifier.ReadBundleHash(buffer.Span);
            }

            return outcome;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return Finish(builder, BuilderOutcomeKind.Error, FailureClassifier.Describe(ex).Reason, start);
        }
    }

    private BuilderOutcome Finish(BuilderEndpoint builder, BuilderOutcomeKind kind, string reason, long start, int status = 0, byte[]? body = null) =>
        Traced(builder, new() { Builder = builder.Name, Kind = kind, Reason = reason, StatusCode = status, Body = body, Latency = _time.GetElapsedTime(start) });

    private BuilderOutcome Traced(BuilderEndpoint builder, BuilderOutcome outcome)
    {
        _tracing?.Submission(builder.Chain, outcome);
        return outcome;
    }
}
