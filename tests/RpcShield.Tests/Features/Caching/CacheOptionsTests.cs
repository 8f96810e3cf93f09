using RpcShield.Features.Caching;
using RpcShield.Configuration;

namespace RpcShield.Tests.Features.Caching;

public sealed class CacheOptionsTests
{
    [Fact]
    public void Cache_keys_bind_with_sizes_chain_overrides_and_method_switches()
    {
        var loaded = ConfigLoader.LoadText("""
            cache: { max_bytes: 128MiB, finality_depth: 32 }
            chains:
              - name: test
                chain_id: 1
                upstreams: [{ name: a, url: "http://127.0.0.1:9" }]
                cache: { max_bytes: 2MiB, methods: { eth_getLogs: false } }
            """);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        var options = loaded.Options!;
        Assert.True(options.Cache.Enabled);
        Assert.Equal(128L << 20, options.Cache.MaxBytes);
        var chain = options.Chains[0].Cache!;
        Assert.False(chain.Methods["eth_getLogs"]);
        Assert.Equal(new CacheSettings(true, 2L << 20, 32), CacheSettings.For(options.Cache, chain));
        Assert.Equal(new CacheSettings(true, 64L << 20, 64), CacheSettings.For(new CacheOptions(), null));
    }

    [Fact]
    public void Bad_cache_values_are_refused_with_their_key_path()
    {
        var bad = ConfigLoader.LoadText("""
            cache: { max_bytes: 64KiB, finality_depth: 0 }
            chains:
              - name: test
                chain_id: 1
                upstreams: [{ name: a, url: "http://127.0.0.1:9" }]
                cache: { max_bytes: 12XB }
            """);
        Assert.Contains(bad.Errors, e => e.Path == "cache.max_bytes" && e.Message.Contains("1MiB", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Path == "cache.finality_depth");
        Assert.Contains(bad.Errors, e => e.Path == "chains[0].cache.max_bytes");
    }
}
