using Microsoft.Extensions.Time.Testing;
using RpcShield.Features.Fanout;

namespace RpcShield.Tests.Features.Fanout;

public sealed class TokenBucketTests
{
    [Fact]
    public void Allows_a_burst_of_the_rate_then_refills_with_time()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(2, time);

        Assert.True(bucket.TryTake());
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());

        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(bucket.TryTake());
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());
    }

    [Fact]
    public void A_fractional_rate_allows_one_submission_per_period()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(0.5, time);

        Assert.True(bucket.TryTake());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(bucket.TryTake());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(bucket.TryTake());
    }
}
