using Polly;
using RpcShield.Features.Fanout;

namespace RpcShield.Chaos;

/// <summary>Builder-scope chaos in every builder's submission pipeline (innermost).</summary>
internal sealed class BuilderChaosContributor : IBuilderStrategyContributor
{
    private readonly BuilderChaos _chaos;

    public BuilderChaosContributor(BuilderChaos chaos) => _chaos = chaos;

    public int Order => int.MaxValue;

    public void Contribute(ResiliencePipelineBuilder<BuilderOutcome> builder, BuilderEndpoint endpoint) =>
        _chaos.Contribute(builder, endpoint.Chain, endpoint.Name, endpoint.Options.Timeout, (_, reason) =>
            BuilderOutcome.Local(endpoint.Name, reason == "chaos_builder_timeout" ? BuilderOutcomeKind.Timeout : BuilderOutcomeKind.Error, reason));
}
