using Microsoft.Extensions.Time.Testing;
using RpcShield.Features.Fanout;

namespace RpcShield.Tests.Features.Fanout;

public sealed class RegionalEndpointsTests
{
    [Fact]
    public void The_fastest_healthy_region_ranks_first_and_a_failed_one_returns_after_the_cooldown()
    {
        var time = new FakeTimeProvider();
        var regions = new RegionalEndpoints(["https://eu.example:1", "https://us.example:2", "https://ap.example:3"], time);
        var (eu, us, ap) = (regions.Regions[0], regions.Regions[1], regions.Regions[2]);

        regions.Record(eu, ok: true, TimeSpan.FromMilliseconds(80));
        regions.Record(us, ok: true, TimeSpan.FromMilliseconds(20));
        // Unmeasured regions rank after measured ones.
        Assert.Equal([us, eu, ap], regions.Ranked());
        Assert.Same(us, regions.Current);

        regions.Record(us, ok: false, TimeSpan.FromMilliseconds(5));
        Assert.Equal([eu, ap, us], regions.Ranked());
        Assert.False(regions.IsHealthy(us));

        time.Advance(RegionalEndpoints.Cooldown);
        Assert.Same(us, regions.Current);
        Assert.Equal("https://us.example:2", us.SafeUrl);
    }
}
