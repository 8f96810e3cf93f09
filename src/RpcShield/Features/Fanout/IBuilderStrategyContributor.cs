using Polly;

namespace RpcShield.Features.Fanout;

/// <summary>
/// Adds Polly strategies to the per-builder submission pipeline (builder-scope chaos:
/// `builder_reject`, `builder_timeout`). Applied in ascending <see cref="Order"/>; the last one is
/// innermost. The pipeline runs inside the builder's `timeout`: a strategy that delays past it
/// produces a `timeout` outcome. A strategy that answers without sending returns a
/// <see cref="BuilderOutcome"/> (see <see cref="BuilderOutcome.Local"/>) rather than throwing.
/// Context properties: <see cref="BuilderAttemptKeys"/>.
/// </summary>
internal interface IBuilderStrategyContributor
{
    int Order { get; }

    void Contribute(ResiliencePipelineBuilder<BuilderOutcome> builder, BuilderEndpoint endpoint);
}

/// <summary>Properties set on the <see cref="ResilienceContext"/> of a builder submission.</summary>
internal static class BuilderAttemptKeys
{
    /// <summary>The exact body forwarded (read-only).</summary>
    public static readonly ResiliencePropertyKey<ReadOnlyMemory<byte>> Body = new("rpcshield.builder.body");

    /// <summary>The JSON-RPC method sent to the builder (eth_sendBundle for an empty-bundle cancel).</summary>
    public static readonly ResiliencePropertyKey<string> Method = new("rpcshield.builder.method");

    /// <summary>The chain name.</summary>
    public static readonly ResiliencePropertyKey<string> Chain = new("rpcshield.builder.chain");
}
