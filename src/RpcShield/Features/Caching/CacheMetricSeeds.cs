using RpcShield.Telemetry;

namespace RpcShield.Features.Caching;

/// <summary>The cache series that exist at 0 from the first scrape (methods other than the locally answered ones are filled as they arrive).</summary>
internal static class CacheMetricSeeds
{
    public static readonly string[] EvictionReasons = ["capacity", "reorg", "new_head", "hash_mismatch"];

    private static readonly string[] SeededMethods = ["eth_chainId", "eth_blockNumber"];

    public static void Seed(RpcShieldMetrics metrics, string chain)
    {
        metrics.CacheBytes.WithLabels(chain);
        foreach (var reason in EvictionReasons)
        {
            metrics.CacheEvictions.WithLabels(chain, reason);
        }

        foreach (var method in SeededMethods)
        {
            foreach (var result in CacheResults.All)
            {
                metrics.CacheRequests.WithLabels(chain, method, result);
            }
        }
    }
}
