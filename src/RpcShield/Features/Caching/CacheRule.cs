namespace RpcShield.Features.Caching;

/// <summary>How one read may be kept, and the highest block its answer depends on (-1: none known yet).</summary>
internal readonly record struct CacheRule(CacheRuleKind Kind, long Block = -1)
{
    public static readonly CacheRule Never = new(CacheRuleKind.Never);

    public bool Shares => Kind != CacheRuleKind.Never;

    public bool Keeps => Kind is not (CacheRuleKind.Never or CacheRuleKind.ShareOnly);
}
