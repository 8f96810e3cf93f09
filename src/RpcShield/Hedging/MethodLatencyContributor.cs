using Polly;
using RpcShield.Upstreams;

namespace RpcShield.Hedging;

/// <summary>Outermost attempt strategy: feeds the latency of every answered attempt into <see cref="MethodLatencyBook"/>.</summary>
public sealed class MethodLatencyContributor : IUpstreamStrategyContributor
{
    private readonly MethodLatencyBook _book;

    public MethodLatencyContributor(MethodLatencyBook book) => _book = book;

    public int Order => -1000;

    public void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream) =>
        builder.AddStrategy(_ => new RecordingStrategy(_book, upstream.Chain), new Resilience.NamedStrategyOptions("method-latency"));

    private sealed class RecordingStrategy(MethodLatencyBook book, string chain) : ResilienceStrategy<AttemptOutcome>
    {
        protected override async ValueTask<Outcome<AttemptOutcome>> ExecuteCore<TState>(Func<ResilienceContext, TState, ValueTask<Outcome<AttemptOutcome>>> callback, ResilienceContext context, TState state)
        {
            var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
            if (outcome.Result is { Kind: AttemptKind.Answered } answered && context.Properties.TryGetValue(AttemptKeys.Method, out var method))
            {
                book.Record(chain, method, answered.Latency);
            }

            return outcome;
        }
    }
}
