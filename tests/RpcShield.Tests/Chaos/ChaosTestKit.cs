using RpcShield.Upstreams.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using RpcShield.Chains;
using RpcShield.Chaos;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.JsonRpc;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Chaos;

/// <summary>A fixed sequence of random numbers (repeats the last).</summary>
internal sealed class FixedRandom(params double[] values) : IChaosRandom
{
    private int _i;

    public double NextDouble() => values[Math.Min(_i++, values.Length - 1)];
}

internal sealed class RecordingJournal : IFailureJournal
{
    public List<JournalEntry> Entries { get; } = [];

    public void Record(JournalEntry entry)
    {
        lock (Entries)
        {
            Entries.Add(entry);
        }
    }
}

/// <summary>Controller, metrics, journal, a chain with one upstream and a client call (tests pass it where an attempt is made for it).</summary>
internal sealed class ChaosTestKit
{

    public ChaosTestKit(ChaosOptions chaos, IChaosRandom? random = null)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var chain = new ChainOptions { Name = "test", ChainId = 31337, Upstreams = [new UpstreamOptions { Name = "a", Url = "http://127.0.0.1:1" }] };
        Options = new ProxyOptions { Chains = [chain], Chaos = chaos };
        Config = new ConfigStore(Options, null, NullLogger<ConfigStore>.Instance);
        Metrics = new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry());
        Controller = new ChaosController(Config, random ?? new FixedRandom(0.5), Time, Metrics, Journal, NullLogger<ChaosController>.Instance);
        Upstream = new Upstream("test", chain.Upstreams[0], chain.Routing, UpstreamTransports.Create(chain.Upstreams[0], Time), Time, Metrics);
        Chain = new ChainRuntime(chain, [Upstream]);
        Call = NewCall();
    }

    public FakeTimeProvider Time { get; }
    public ProxyOptions Options { get; }
    public ConfigStore Config { get; }
    public RpcShieldMetrics Metrics { get; }
    public RecordingJournal Journal { get; } = new();
    public ChaosController Controller { get; }
    public Upstream Upstream { get; }
    public ChainRuntime Chain { get; }
    public RpcCall Call { get; }

    /// <summary>Another client call on the kit's chain.</summary>
    public RpcCall NewCall() => new(Chain, new HeaderDictionary(), RpcTransport.Http) { HttpContext = new DefaultHttpContext() };

    public double Injections(string rule, string fault) => Metrics.ChaosInjections.WithLabels("test", rule, fault).Value;

    public static ChaosOptions Enabled(params ChaosRuleOptions[] rules) => new() { Enabled = true, Rules = [.. rules] };
}
