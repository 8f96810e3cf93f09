namespace RpcShield.Features.Fanout;

/// <summary>`cancel_style` of a builder, parsed once per snapshot (see <see cref="BuilderSettings"/>).</summary>
internal enum BuilderCancelStyle
{
    /// <summary>`method`: eth_cancelBundle.</summary>
    Method,
    /// <summary>`empty_bundle`: the replacementUuid resent with `txs: []`.</summary>
    EmptyBundle,
}
