using RpcShield.Journal;

namespace RpcShield.Tests.Journal;

public sealed class LearnedStateTests
{
    [Fact]
    public async Task Latency_and_builder_inclusion_persist_and_seed_the_next_start()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        using var first = new JournalFixture(time: time);
        await first.StartAsync();
        var a = first.Chains.Default.Upstreams.Single(u => u.Name == "a");
        a.Latency.Record(TimeSpan.FromMilliseconds(180));
        a.Metrics.Ok.Inc(9);
        a.Metrics.Error.Inc(1);
        foreach (var included in (bool[])[true, true, false])
        {
            first.Journal.Record(new JournalEntry { Kind = JournalKinds.Bundle, Timestamp = time.GetUtcNow(), Chain = "test", Builder = "flashbots", Outcome = included ? "included" : "not_included" });
        }

        await first.StopAsync();
        var ewma = a.Latency.PeakEwmaMs;
        Assert.Equal(180, ewma, 3);

        // The restarted proxy: fresh upstream objects start cold (50 ms) until the priors are loaded.
        using var second = new JournalFixture(time: time, path: first.Path);
        var fresh = second.Chains.Default.Upstreams.Single(u => u.Name == "a");
        Assert.Equal(50, fresh.Latency.PeakEwmaMs, 3);
        await second.StartAsync();
        Assert.Equal(ewma, fresh.Latency.PeakEwmaMs, 3);
        var prior = second.Learned.Upstream("test", "a")!;
        Assert.Equal(9, prior.OkTotal);
        Assert.Equal(1, prior.FailedTotal);
        Assert.Equal(0.1, prior.ErrorRatio, 6);
        var builder = second.Learned.Builder("test", "flashbots")!;
        Assert.Equal(2, builder.Included);
        Assert.Equal(3, builder.Total);
        await second.StopAsync();
    }
}
