using Microsoft.Extensions.Time.Testing;
using RpcShield.Configuration;
using RpcShield.Upstreams.Health;

namespace RpcShield.Tests.Upstreams.Health;

public sealed class UpstreamHealthTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    private UpstreamHealth Healthy(int failAfter = 3, int recoverAfter = 2, int maxLag = 2)
    {
        var health = new UpstreamHealth(new HealthOptions { FailAfter = failAfter, RecoverAfter = recoverAfter, MaxBlockLag = maxLag }, _time);
        Assert.True(health.ProbeSucceeded(100, chainIdVerified: true));
        return health;
    }

    [Fact]
    public void Starts_probing_and_needs_the_chain_id_before_it_is_healthy()
    {
        var health = new UpstreamHealth(new HealthOptions(), _time);
        Assert.Equal(HealthStatus.Probing, health.Status);
        Assert.True(health.NeedsChainIdCheck);
        Assert.False(health.ProbeSucceeded(10, chainIdVerified: false));
        Assert.Equal(HealthStatus.Probing, health.Status);
        Assert.True(health.ProbeSucceeded(10, chainIdVerified: true));
        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.False(health.NeedsChainIdCheck);
        Assert.Equal(10, health.Head);
    }

    [Fact]
    public void Fail_after_consecutive_failures_marks_it_unhealthy_and_a_success_resets_the_streak()
    {
        var health = Healthy(failAfter: 3);
        Assert.False(health.Failed("timeout", hard: false));
        Assert.False(health.Failed("timeout", hard: false));
        health.RequestSucceeded();
        Assert.False(health.Failed("timeout", hard: false));
        Assert.False(health.Failed("timeout", hard: false));
        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.True(health.Failed("http_503", hard: false));
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Equal("http_503", health.LastError);
    }

    [Fact]
    public void A_hard_failure_is_decisive_at_once()
    {
        var health = Healthy(failAfter: 5);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.True(health.Failed("connection_refused", hard: true));
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Equal(_time.GetUtcNow(), health.Since);
    }

    [Fact]
    public void Recover_after_good_probes_with_a_chain_id_check_readmits_it()
    {
        var health = Healthy(recoverAfter: 3);
        health.Failed("connection_refused", hard: true);
        Assert.False(health.NeedsChainIdCheck);
        Assert.False(health.ProbeSucceeded(101, chainIdVerified: false));
        Assert.False(health.NeedsChainIdCheck);
        Assert.False(health.ProbeSucceeded(102, chainIdVerified: false));
        // The third probe is the one that re-admits: it must re-check the chain id first.
        Assert.True(health.NeedsChainIdCheck);
        Assert.False(health.ProbeSucceeded(103, chainIdVerified: false));
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.True(health.ProbeSucceeded(104, chainIdVerified: true));
        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [Fact]
    public void A_failure_during_recovery_restarts_the_count()
    {
        var health = Healthy(recoverAfter: 2);
        health.Failed("timeout", hard: true);
        health.ProbeSucceeded(101, chainIdVerified: false);
        health.Failed("timeout", hard: false);
        Assert.False(health.ProbeSucceeded(102, chainIdVerified: false));
        Assert.True(health.ProbeSucceeded(103, chainIdVerified: true));
    }

    [Fact]
    public void Lag_beyond_max_block_lag_excludes_and_catching_up_readmits()
    {
        var health = Healthy(maxLag: 2);
        Assert.False(health.ApplyLag(102));
        Assert.True(health.ApplyLag(103));
        Assert.Equal(HealthStatus.Lagging, health.Status);
        Assert.Equal("3 blocks behind", health.LastError);
        health.ProbeSucceeded(101, chainIdVerified: false);
        Assert.False(health.ApplyLag(104));
        Assert.True(health.ApplyLag(103));
        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [Fact]
    public void Lag_never_readmits_an_unhealthy_upstream()
    {
        var health = Healthy();
        health.Failed("connection_refused", hard: true);
        Assert.False(health.ApplyLag(100));
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
    }

    [Fact]
    public void A_wrong_chain_id_excludes_it_until_a_matching_check()
    {
        var health = Healthy();
        Assert.True(health.ChainIdMismatch(5, 31337));
        Assert.Equal(HealthStatus.WrongChain, health.Status);
        Assert.Contains("chain id 5", health.LastError, StringComparison.Ordinal);
        Assert.True(health.NeedsChainIdCheck);
        Assert.False(health.Failed("timeout", hard: true));
        Assert.Equal(HealthStatus.WrongChain, health.Status);
        Assert.False(health.ProbeSucceeded(100, chainIdVerified: false));
        Assert.Equal(HealthStatus.WrongChain, health.Status);

        // Fixed (e.g. the operator repointed the URL): recover_after matching checks re-admit it.
        health.ChainIdMismatch(5, 31337);
        Assert.False(health.ProbeSucceeded(100, chainIdVerified: true));
        Assert.True(health.ProbeSucceeded(101, chainIdVerified: true));
        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [Fact]
    public void Updated_options_apply_to_the_next_transition()
    {
        var health = Healthy(failAfter: 5);
        health.UpdateOptions(new HealthOptions { FailAfter = 1 });
        Assert.True(health.Failed("timeout", hard: false));
    }
}
