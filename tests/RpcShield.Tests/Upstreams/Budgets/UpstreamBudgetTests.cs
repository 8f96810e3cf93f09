using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams.Budgets;

namespace RpcShield.Tests.Upstreams.Budgets;

public sealed class UpstreamBudgetTests
{
    [Fact]
    public void Token_bucket_allows_max_rps_and_refills_with_time()
    {
        var time = new FakeTimeProvider();
        var budget = new UpstreamBudget(time);
        var granted = 0;
        for (var i = 0; i < 20; i++)
        {
            if (budget.TryAcquire(maxRps: 5, maxConcurrency: 0))
            {
                granted++;
                budget.Release();
            }
        }

        Assert.Equal(5, granted);
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.True(budget.TryAcquire(5, 0));
        budget.Release();
        Assert.False(budget.TryAcquire(5, 0));
        time.Advance(TimeSpan.FromSeconds(10));
        granted = 0;
        for (var i = 0; i < 20; i++)
        {
            if (budget.TryAcquire(5, 0))
            {
                granted++;
                budget.Release();
            }
        }

        Assert.Equal(5, granted); // burst is capped at max_rps, however long it was idle
    }

    [Fact]
    public void Concurrency_cap_refuses_instead_of_queueing()
    {
        var budget = new UpstreamBudget(new FakeTimeProvider());
        Assert.True(budget.TryAcquire(0, 2));
        Assert.True(budget.TryAcquire(0, 2));
        Assert.False(budget.TryAcquire(0, 2));
        budget.Release();
        Assert.True(budget.TryAcquire(0, 2));
        Assert.Equal(2, budget.InFlight);
    }

    [Fact]
    public void Retry_after_is_honoured_exactly()
    {
        var time = new FakeTimeProvider();
        var budget = new UpstreamBudget(time);
        Assert.Equal(TimeSpan.FromSeconds(3), budget.Throttled(TimeSpan.FromSeconds(3)));
        Assert.True(budget.IsThrottled);
        time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.True(budget.IsThrottled);
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.False(budget.IsThrottled);
        Assert.Equal(UpstreamBudget.MaxRetryAfter, budget.Throttled(TimeSpan.FromHours(5)));
    }

    [Fact]
    public void Without_retry_after_the_backoff_doubles_to_a_cap_and_resets_after_an_answer()
    {
        var budget = new UpstreamBudget(new FakeTimeProvider());
        var backoffs = Enumerable.Range(0, 8).Select(_ => budget.Throttled(null).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60], backoffs);
        budget.Answered();
        Assert.Equal(TimeSpan.FromSeconds(1), budget.Throttled(null));
    }
}
