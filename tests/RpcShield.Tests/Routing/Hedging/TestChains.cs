using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Telemetry;

namespace RpcShield.Tests.Routing.Hedging;

/// <summary>A real ChainRegistry over unreachable loopback URLs, on a fake clock (nothing is ever sent).</summary>
internal static class TestChains
{
    public static (ChainRegistry Registry, ChainRuntime Chain, RpcShieldMetrics Metrics) Create(FakeTimeProvider time, Func<ChainOptions, ChainOptions>? configure = null, int upstreams = 2)
    {
        var chain = new ChainOptions
        {
            Name = "test",
            ChainId = 31337,
            Upstreams = [.. Enumerable.Range(0, upstreams).Select(i => new UpstreamOptions { Name = $"u{i}", Url = $"http://127.0.0.1:{9 + i}" })],
        };
        chain = configure?.Invoke(chain) ?? chain;
        var options = new ProxyOptions { Chains = [chain] };
        var metrics = new RpcShieldMetrics(Metrics.NewCustomRegistry());
        var store = new ConfigStore(options, null, NullLogger<ConfigStore>.Instance);
        var registry = new ChainRegistry(store, time, metrics, NullLogger<ChainRegistry>.Instance);
        return (registry, registry.Chains[0], metrics);
    }

    /// <summary>A plain HTTP client call on a fresh test chain.</summary>
    public static RpcShield.JsonRpc.RpcCall HttpCall() =>
        new(Create(new FakeTimeProvider()).Chain, new Microsoft.AspNetCore.Http.HeaderDictionary(), RpcShield.JsonRpc.RpcTransport.Http);
}
