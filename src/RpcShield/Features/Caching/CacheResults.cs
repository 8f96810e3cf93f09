namespace RpcShield.Features.Caching;

/// <summary>Values of `X-RpcShield-Cache` and the `result` label of rpcshield_cache_requests_total.</summary>
internal static class CacheResults
{
    public const string Hit = "hit";
    public const string Miss = "miss";
    public const string Coalesced = "coalesced";
    public const string Bypass = "bypass";

    public static readonly string[] All = [Hit, Miss, Coalesced, Bypass];

    public const string Header = "X-RpcShield-Cache";
}
