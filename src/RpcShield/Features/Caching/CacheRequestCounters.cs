using Prometheus;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Caching;

/// <summary>
/// One chain's `rpcshield_cache_requests_total` children and hit/miss tallies, for the life of its
/// store: a child is resolved the first time its method and result occur (as before, so a series
/// appears when it is first counted) and read by index afterwards, not looked up by its three
/// labels on every request.
/// </summary>
internal sealed class CacheRequestCounters(Counter counter, string chain)
{
    private static readonly int Results = CacheResults.All.Length;

    // [method label index × result index]; KnownMethods.All plus `other`.
    private readonly Counter.Child?[] _children = new Counter.Child?[(KnownMethods.All.Length + 1) * Results];
    private readonly long[] _tallies = new long[Results];

    /// <summary>Counts one read of <paramref name="method"/> with <paramref name="result"/> (one of <see cref="CacheResults.All"/>).</summary>
    public void Count(string method, string result)
    {
        var outcome = CacheResults.IndexOf(result);
        Interlocked.Increment(ref _tallies[outcome]);
        var methodIndex = KnownMethods.LabelIndex(method);
        ref var slot = ref _children[(methodIndex * Results) + outcome];
        // A race resolves the same child twice: WithLabels hands back the one child of a label set.
        var child = Volatile.Read(ref slot) ?? (slot = counter.WithLabels(chain, methodIndex < KnownMethods.All.Length ? KnownMethods.All[methodIndex] : "other", result));
        child.Inc();
    }

    public long Tally(string result) => Interlocked.Read(ref _tallies[CacheResults.IndexOf(result)]);
}
