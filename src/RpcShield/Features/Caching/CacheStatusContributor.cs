using System.Text.Json;
using RpcShield.Chains;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Features.Caching;

/// <summary>/status: each chain's `cache` (enabled, bytes held, entries, hit rate and counts since start).</summary>
internal sealed class CacheStatusContributor(ResponseCache cache) : IStatusContributor
{
    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream)
    {
    }

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
        writer.WriteStartObject("cache"u8);
        var store = cache.StoreOf(chain);
        writer.WriteBoolean("enabled"u8, store is not null);
        if (store is not null)
        {
            var (hits, misses, coalesced, bypassed) = store.Counts;
            var looked = hits + misses + coalesced;
            writer.WriteNumber("bytes"u8, store.Bytes);
            writer.WriteNumber("max_bytes"u8, store.Settings.MaxBytes);
            writer.WriteNumber("entries"u8, store.Entries);
            writer.WriteNumber("hit_rate"u8, looked == 0 ? 0 : Math.Round((double)(hits + coalesced) / looked, 4));
            writer.WriteNumber("hits"u8, hits);
            writer.WriteNumber("misses"u8, misses);
            writer.WriteNumber("coalesced"u8, coalesced);
            writer.WriteNumber("bypassed"u8, bypassed);
            writer.WriteNumber("finalized_block"u8, store.Finalized(chain.BestHead));
        }

        writer.WriteEndObject();
    }
}
