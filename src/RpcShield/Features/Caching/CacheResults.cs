namespace RpcShield.Features.Caching;

/// <summary>Values of `X-RpcShield-Cache` and the `result` label of rpcshield_cache_requests_total.</summary>
internal static class CacheResults
{
    public const string Hit = "hit";
    public const string Miss = "miss";
    public const string Coalesced = "coalesced";
    public const string Bypass = "bypass";

    public static readonly string[] All = [Hit, Miss, Coalesced, Bypass];

    /// <summary>The result's position in <see cref="All"/> (anything else counts as a bypass).</summary>
    public static int IndexOf(string result) => result switch
    {
        Hit => 0,
        Miss => 1,
        Coalesced => 2,
        _ => 3,
    };

    public const string Header = "X-RpcShield-Cache";
}
