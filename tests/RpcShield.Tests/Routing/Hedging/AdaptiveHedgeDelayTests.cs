using Microsoft.Extensions.Time.Testing;
using RpcShield.Routing.Hedging;
using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Tests.Routing.Hedging;

public sealed class AdaptiveHedgeDelayTests
{
    private sealed class FixedMode(string mode) : IChainModeSource
    {
        public string Mode { get; set; } = mode;

        public string ModeOf(string chain) => Mode;
    }

    private static (AdaptiveHedgeDelay Policy, MethodLatencyBook Book, FixedMode Mode, Chains.ChainRuntime Chain, FakeTimeProvider Time) Create(Func<RpcShield.Configuration.HedgeOptions, RpcShield.Configuration.HedgeOptions>? hedge = null)
    {
        var time = new FakeTimeProvider();
        var (_, chain, metrics) = TestChains.Create(time, c =>
        {
            var options = new RpcShield.Configuration.HedgeOptions { Enabled = true, Quantile = 0.9, Min = TimeSpan.FromMilliseconds(20), Max = TimeSpan.FromMilliseconds(500), MaxExtra = 1, ColdStart = TimeSpan.FromMilliseconds(250) };
            return c with { Routing = c.Routing with { Hedge = hedge?.Invoke(options) ?? options } };
        });
        var book = new MethodLatencyBook(time);
        var mode = new FixedMode("full");
        return (new AdaptiveHedgeDelay(book, mode, metrics), book, mode, chain, time);
    }

    [Fact]
    public void Cold_start_delay_is_used_until_enough_samples_then_the_configured_quantile()
    {
        var (policy, book, _, chain, _) = Create();
        Assert.Equal(TimeSpan.FromMilliseconds(250), policy.DelayFor(chain, "eth_call", hedgeable: true));

        for (var i = 1; i <= 100; i++)
        {
            book.Record("test", "eth_call", TimeSpan.FromMilliseconds(i));
            if (i == AdaptiveHedgeDelay.MinSamples - 1)
            {
                Assert.Equal(TimeSpan.FromMilliseconds(250), policy.DelayFor(chain, "eth_call", hedgeable: true));
            }
        }

        // p90 of 1..100 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(90), policy.DelayFor(chain, "eth_call", hedgeable: true));
        // Other methods keep their own statistics.
        Assert.Equal(TimeSpan.FromMilliseconds(250), policy.DelayFor(chain, "eth_getBalance", hedgeable: true));
    }

    [Fact]
    public void Delay_is_clamped_to_min_and_max()
    {
        var (policy, book, _, chain, time) = Create();
        for (var i = 0; i < 50; i++)
        {
            book.Record("test", "eth_call", TimeSpan.FromMilliseconds(2));
            book.Record("test", "eth_getBalance", TimeSpan.FromSeconds(3));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(20), policy.DelayFor(chain, "eth_call", hedgeable: true));
        Assert.Equal(TimeSpan.FromMilliseconds(500), policy.DelayFor(chain, "eth_getBalance", hedgeable: true));
    }

    [Fact]
    public void Quantile_follows_recent_latency_once_the_cache_expires()
    {
        var (policy, book, _, chain, time) = Create();
        for (var i = 0; i < 256; i++)
        {
            book.Record("test", "eth_call", TimeSpan.FromMilliseconds(40));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(40), policy.DelayFor(chain, "eth_call", hedgeable: true));
        for (var i = 0; i < 256; i++)
        {
            book.Record("test", "eth_call", TimeSpan.FromMilliseconds(120));
        }

        time.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Equal(TimeSpan.FromMilliseconds(120), policy.DelayFor(chain, "eth_call", hedgeable: true));
    }

    [Fact]
    public void Never_hedges_when_disabled_not_hedgeable_or_not_in_full_mode()
    {
        var (policy, _, mode, chain, _) = Create();
        Assert.Equal(Timeout.InfiniteTimeSpan, policy.DelayFor(chain, "eth_sendRawTransaction", hedgeable: HedgePolicy.IsHedgeable("eth_sendRawTransaction", chain.Options.Routing)));
        Assert.Equal(Timeout.InfiniteTimeSpan, policy.DelayFor(chain, "eth_newFilter", hedgeable: HedgePolicy.IsHedgeable("eth_newFilter", chain.Options.Routing)));
        Assert.Equal(1, policy.MaxExtra(chain));

        mode.Mode = "degraded";
        Assert.Equal(Timeout.InfiniteTimeSpan, policy.DelayFor(chain, "eth_call", hedgeable: true));
        mode.Mode = "full";
        Assert.NotEqual(Timeout.InfiniteTimeSpan, policy.DelayFor(chain, "eth_call", hedgeable: true));

        var (disabled, _, _, disabledChain, _) = Create(h => h with { Enabled = false });
        Assert.Equal(Timeout.InfiniteTimeSpan, disabled.DelayFor(disabledChain, "eth_call", hedgeable: true));
        Assert.Equal(0, disabled.MaxExtra(disabledChain));
    }
}
