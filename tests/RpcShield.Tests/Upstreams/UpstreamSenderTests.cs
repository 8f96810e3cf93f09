using Microsoft.Extensions.Time.Testing;
using Polly;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Telemetry;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Tests.Upstreams;

/// <summary>
/// What every attempt owes its guards, whether it is awaited by <see cref="UpstreamSender.SendAsync"/>
/// or by the caller (Start, await, Settle: the read path).
/// </summary>
public sealed class UpstreamSenderTests
{
    private static readonly ReadOnlyMemory<byte> Body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_blockNumber\"}"u8.ToArray();
    private readonly FakeTimeProvider _time = new();

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task An_attempt_that_throws_unexpectedly_is_a_transport_failure_and_releases_its_guard(bool throughPolly, bool startSettle)
    {
        var guard = new RecordingGuard();
        var contributors = throughPolly ? new IUpstreamStrategyContributor[] { new PassThroughContributor() } : [];
        var sender = new UpstreamSender(_time, contributors, [guard]);
        var upstream = Upstream(new ThrowingTransport());

        var outcome = await Send(sender, upstream, startSettle);

        Assert.Equal(AttemptKind.Transport, outcome.Kind);
        Assert.Equal("pipeline_error", outcome.Reason);
        Assert.Same(outcome, Assert.Single(guard.Completed));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_refusal_completes_only_the_guards_that_admitted_and_is_not_settled_twice(bool startSettle)
    {
        var admitting = new RecordingGuard();
        var refusing = new RecordingGuard { Refuses = true };
        var sender = new UpstreamSender(_time, [], [admitting, refusing]);
        var upstream = Upstream(new ThrowingTransport());

        var outcome = await Send(sender, upstream, startSettle);

        Assert.Equal("refused_by_test", outcome.Reason);
        Assert.Same(outcome, Assert.Single(admitting.Completed));
        Assert.Empty(refusing.Completed);
    }

    [Fact]
    public async Task Settling_an_attempt_twice_releases_its_guard_once()
    {
        var guard = new RecordingGuard();
        var sender = new UpstreamSender(_time, [], [guard]);
        var attempt = sender.Start(Upstream(new ThrowingTransport()), Body, "eth_blockNumber", TimeSpan.FromSeconds(1), call: null, CancellationToken.None);
        var outcome = await attempt.Outcome;

        var first = sender.Settle(ref attempt, outcome);
        sender.Settle(ref attempt, outcome);

        Assert.Same(first, Assert.Single(guard.Completed)); // one release, one context back to its pool
    }

    [Fact]
    public void An_attempt_whose_pipeline_cannot_be_built_gives_its_guard_slot_back()
    {
        var guard = new RecordingGuard();
        var sender = new UpstreamSender(_time, [new BrokenContributor()], [guard]);

        Assert.Throws<InvalidOperationException>(() => sender.Start(Upstream(new ThrowingTransport()), Body, "eth_blockNumber", TimeSpan.FromSeconds(1), call: null, CancellationToken.None));

        Assert.Null(Assert.Single(guard.Completed));
    }

    private static async Task<AttemptOutcome> Send(UpstreamSender sender, Upstream upstream, bool startSettle)
    {
        if (!startSettle)
        {
            return await sender.SendAsync(upstream, Body, "eth_blockNumber", TimeSpan.FromSeconds(1), call: null, CancellationToken.None);
        }

        var attempt = sender.Start(upstream, Body, "eth_blockNumber", TimeSpan.FromSeconds(1), call: null, CancellationToken.None);
        return sender.Settle(ref attempt, await attempt.Outcome);
    }

    private Upstream Upstream(IUpstreamTransport transport)
    {
        var options = new UpstreamOptions { Name = "a", Url = "http://127.0.0.1:1" };
        return new Upstream("test", options, new RoutingOptions(), transport, _time, new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry()));
    }

    /// <summary>A bug below the sender, not a network failure the classifier knows.</summary>
    private sealed class ThrowingTransport : IUpstreamTransport
    {
        public ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> body, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("bug");

        public void Dispose()
        {
        }
    }

    private sealed class RecordingGuard : IAttemptGuard
    {
        public bool Refuses { get; init; }

        public List<AttemptOutcome?> Completed { get; } = [];

        public AttemptOutcome? Admit(Upstream upstream) => Refuses ? AttemptOutcome.Refused(upstream, "refused_by_test") : null;

        void IAttemptGuard.Completed(Upstream upstream, AttemptOutcome? outcome) => Completed.Add(outcome);
    }

    private sealed class BrokenContributor : IUpstreamStrategyContributor
    {
        public int Order => 0;

        public void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream) =>
            throw new InvalidOperationException("invalid options");
    }

    /// <summary>One always-on strategy, so the attempt runs through a Polly pipeline as in production.</summary>
    private sealed class PassThroughContributor : IUpstreamStrategyContributor
    {
        public int Order => 0;

        public void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream) =>
            builder.AddTimeout(TimeSpan.FromMinutes(1));
    }
}
