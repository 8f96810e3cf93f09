namespace RpcShield.Upstreams;

/// <summary>`tier` of an upstream, parsed once when its options are set (ranked primary first).</summary>
internal enum UpstreamTier
{
    Primary,
    Fallback,
}
