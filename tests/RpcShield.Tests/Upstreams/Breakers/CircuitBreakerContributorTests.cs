using Polly.CircuitBreaker;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Polly;
using RpcShield.Upstreams.Breakers;
using RpcShield.Configuration;
using RpcShield.Routing;
using RpcShield.Tests.Routing.Hedging;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams.Breakers;

public sealed class CircuitBreakerContributorTests
{
    private sealed class Rig
    {
        public Rig()
        {
            Time = new FakeTimeProvider();
            var (registry, chain, _) = TestChains.Create(Time, c => c with
            {
                Routing = c.Routing with
                {
                    CircuitBreaker = new CircuitBreakerOptions { FailureRatio = 0.5, MinRequests = 4, Window = TimeSpan.FromSeconds(10), Break = TimeSpan.FromSeconds(5) },
                },
            });
            Chain = chain;
            Upstream = chain.Upstreams[0];
            Breakers = new CircuitBreakerContributor(registry, Time, NullLogger<CircuitBreakerContributor>.Instance);
            var builder = new ResiliencePipelineBuilder<AttemptOutcome> { TimeProvider = Time };
            Breakers.Contribute(builder, Upstream);
            Pipeline = builder.Build();
        }

        public FakeTimeProvider Time { get; }
        public Chains.ChainRuntime Chain { get; }
        public Upstream Upstream { get; }
        public CircuitBreakerContributor Breakers { get; }
        public ResiliencePipeline<AttemptOutcome> Pipeline { get; }
        public int Sent { get; private set; }

        /// <summary>Like <see cref="UpstreamSender"/>: the breaker's refusal becomes a local `circuit_open` outcome.</summary>
        public AttemptOutcome Send(AttemptKind kind)
        {
            try
            {
                return Pipeline.Execute(() =>
                {
                    Sent++;
                    return new AttemptOutcome { Upstream = Upstream, Kind = kind, Reason = kind.ToString() };
                });
            }
            catch (BrokenCircuitException)
            {
                return AttemptOutcome.Refused(Upstream, "circuit_open");
            }
        }
    }

    [Fact]
    public void Opens_on_the_failure_ratio_refuses_locally_and_ranks_the_upstream_last()
    {
        var rig = new Rig();
        rig.Send(AttemptKind.Answered);
        rig.Send(AttemptKind.Transport);
        rig.Send(AttemptKind.Answered);
        Assert.Equal("closed", rig.Breakers.InfoOf(rig.Upstream)!.StateName);
        rig.Send(AttemptKind.HttpError); // 2 of 4 failed: ratio 0.5 reached with min_requests 4

        Assert.Equal("open", rig.Breakers.InfoOf(rig.Upstream)!.StateName);
        Assert.Equal(BreakerState.Open, rig.Upstream.CircuitState);
        Assert.Equal("HttpError", rig.Breakers.InfoOf(rig.Upstream)!.LastFault);
        var sent = rig.Sent;
        var refused = rig.Send(AttemptKind.Answered);
        Assert.Equal(AttemptKind.Rejected, refused.Kind);
        Assert.Equal("circuit_open", refused.Reason);
        Assert.Equal(sent, rig.Sent);
        Assert.False(refused.IsUpstreamFault);

        foreach (var upstream in rig.Chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(1, chainIdVerified: true);
        }

        rig.Chain.PublishNow();
        Assert.Equal(2, rig.Chain.Ranking.Length);
        Assert.Equal("u1", rig.Chain.Ranking[0].Name);
        Assert.Equal("u0", rig.Chain.Ranking[^1].Name);
    }

    [Fact]
    public void Half_open_after_the_break_then_a_successful_probe_closes_it()
    {
        var rig = new Rig();
        for (var i = 0; i < 4; i++)
        {
            rig.Send(AttemptKind.Timeout);
        }

        Assert.Equal(BreakerState.Open, rig.Upstream.CircuitState);
        rig.Time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(AttemptKind.Rejected, rig.Send(AttemptKind.Answered).Kind);

        rig.Time.Advance(TimeSpan.FromMilliseconds(200));
        var probe = rig.Send(AttemptKind.Answered);
        Assert.Equal(AttemptKind.Answered, probe.Kind);
        Assert.Equal(BreakerState.Closed, rig.Upstream.CircuitState);
        Assert.Equal("closed", rig.Breakers.InfoOf(rig.Upstream)!.StateName);
    }

    [Fact]
    public void A_failed_half_open_probe_opens_it_again()
    {
        var rig = new Rig();
        for (var i = 0; i < 4; i++)
        {
            rig.Send(AttemptKind.NodeError);
        }

        rig.Time.Advance(TimeSpan.FromSeconds(5.1));
        Assert.Equal(AttemptKind.Transport, rig.Send(AttemptKind.Transport).Kind);
        Assert.Equal(BreakerState.Open, rig.Upstream.CircuitState);
        Assert.Equal(AttemptKind.Rejected, rig.Send(AttemptKind.Answered).Kind);
    }

    [Fact]
    public void Answers_reverts_unsupported_and_throttling_never_open_it()
    {
        var rig = new Rig();
        for (var i = 0; i < 40; i++)
        {
            rig.Send(i % 3 == 0 ? AttemptKind.Throttled : i % 3 == 1 ? AttemptKind.Unsupported : AttemptKind.Answered);
        }

        Assert.Equal(BreakerState.Closed, rig.Upstream.CircuitState);
        Assert.Equal(40, rig.Sent);
    }

    [Fact]
    public void Failures_older_than_the_window_do_not_count()
    {
        var rig = new Rig();
        rig.Send(AttemptKind.Transport);
        rig.Send(AttemptKind.Transport);
        rig.Send(AttemptKind.Answered);
        rig.Time.Advance(TimeSpan.FromSeconds(11));
        rig.Send(AttemptKind.Answered);
        rig.Send(AttemptKind.Answered);
        rig.Send(AttemptKind.Transport);
        rig.Send(AttemptKind.Answered);

        Assert.Equal(BreakerState.Closed, rig.Upstream.CircuitState);
    }
}
