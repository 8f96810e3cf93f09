using RpcShield.Configuration;

namespace RpcShield.Features.Caching;

/// <summary>One chain's effective cache settings: `chains[].cache` over the top-level `cache`.</summary>
internal readonly record struct CacheSettings(bool Enabled, long MaxBytes, int FinalityDepth)
{
    public static CacheSettings For(CacheOptions global, ChainCacheOptions? chain) =>
        new(chain?.Enabled ?? global.Enabled, chain?.MaxBytes ?? global.MaxBytes, chain?.FinalityDepth ?? global.FinalityDepth);
}
