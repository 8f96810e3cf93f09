using Microsoft.Extensions.Time.Testing;
using RpcShield.Configuration;
using RpcShield.Tests.Routing.Hedging;

namespace RpcShield.Tests.Configuration;

/// <summary>A reload that adds upstreams publishes them only after their probe, or after one health timeout at most.</summary>
public sealed class MakeBeforeBreakTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task New_upstreams_are_published_once_probed_and_the_old_ones_serve_until_then()
    {
        var (registry, _, _) = TestChains.Create(_time);
        var probed = new TaskCompletionSource();
        var asked = new List<string>();
        registry.ProbeNewUpstreamsWith((chain, upstream, _) =>
        {
            asked.Add(upstream.Name);
            return probed.Task;
        });

        var applying = registry.ApplyAsync(Swapped(registry.Chains[0].Options));

        Assert.False(applying.IsCompleted);
        Assert.Equal(["u0", "u1"], registry.Chains[0].Upstreams.Select(u => u.Name));
        Assert.Equal(["n0", "n1"], asked);
        probed.SetResult();
        await applying;
        Assert.Equal(["n0", "n1"], registry.Chains[0].Upstreams.Select(u => u.Name));
    }

    [Fact]
    public async Task A_probe_that_never_answers_holds_the_reload_for_one_health_timeout_only()
    {
        var (registry, chain, _) = TestChains.Create(_time);
        registry.ProbeNewUpstreamsWith((_, _, _) => new TaskCompletionSource().Task);

        var applying = registry.ApplyAsync(Swapped(chain.Options));
        _time.Advance(chain.Options.Routing.Health.Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(applying.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await applying.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["n0", "n1"], registry.Chains[0].Upstreams.Select(u => u.Name));
    }

    [Fact]
    public void A_reload_that_adds_no_upstream_is_published_at_once_without_a_probe()
    {
        var (registry, chain, _) = TestChains.Create(_time);
        registry.ProbeNewUpstreamsWith((_, _, _) => throw new InvalidOperationException("nothing new to probe"));
        var swapped = Swapped(chain.Options, rename: false);
        var next = swapped with { Chains = [swapped.Chains[0] with { Routing = new RoutingOptions { Retries = 5 } }] };

        Assert.True(registry.ApplyAsync(next).IsCompletedSuccessfully);
        Assert.Equal(5, registry.Chains[0].Options.Routing.Retries);
        Assert.Same(chain.Upstreams[0], registry.Chains[0].Upstreams[0]);
    }

    /// <summary>The same chain with every upstream renamed (new instances) unless <paramref name="rename"/> is false.</summary>
    private static ProxyOptions Swapped(ChainOptions current, bool rename = true)
    {
        var chain = new ChainOptions
        {
            Name = current.Name,
            ChainId = current.ChainId,
            Upstreams = [.. current.Upstreams.Select((u, i) => new UpstreamOptions { Name = rename ? $"n{i}" : u.Name, Url = u.Url })],
        };
        return new ProxyOptions { Chains = [chain] };
    }
}
