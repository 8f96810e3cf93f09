using System.Text;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Routing.Hedging;
using RpcShield.Journal;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Tests.Chaos;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Tests.Routing;

/// <summary>
/// The failover and hedge bookkeeping of a forwarded read (ForwardState) on a fake clock: upstreams
/// answer when the test says so, so what happens at which instant is decided, not raced.
/// </summary>
public sealed class ForwardBookkeepingTests
{
    private const string Answer = """{"jsonrpc":"2.0","id":1,"result":"0x1"}""";
    private static readonly TimeSpan HedgeDelay = TimeSpan.FromMilliseconds(250);

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingJournal _journal = new();
    private readonly RpcShieldMetrics _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private readonly List<string> _sent = [];

    [Fact]
    public async Task A_hedge_fires_at_the_configured_delay_and_not_before()
    {
        var (_, nodes, pending) = StartOnTwo();
        await WaitFor(() => nodes[0].Requests == 1);

        _time.Advance(HedgeDelay - TimeSpan.FromMilliseconds(1));
        await Task.Delay(100);
        Assert.Equal(0, nodes[1].Requests); // a millisecond early: still only the first attempt

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await WaitFor(() => nodes[1].Requests == 1);
        Assert.Equal(1, Hedges("sent"));

        nodes[0].Answer(200, Answer);
        using var result = await pending;
        Assert.Equal(("ok", "u0"), (result.Outcome, result.ServedBy!.Name));
    }

    [Fact]
    public async Task The_first_good_answer_wins_and_the_slow_loser_is_cancelled_and_counted_against_nobody()
    {
        var (chain, nodes, pending) = await HedgedAsync();

        nodes[1].Answer(200, Answer);
        using var result = await pending;

        Assert.Equal(("ok", "u1"), (result.Outcome, result.ServedBy!.Name));
        await WaitFor(() => nodes[0].Cancelled == 1); // the original attempt was cancelled, not left running
        Assert.Equal((1, 1, 0), (Hedges("sent"), Hedges("won"), Hedges("lost")));
        Assert.Empty(result.Attempts); // a hedge is not a failure
        Assert.Equal(0, chain.Upstreams[0].Errors.Totals().Failed);
        Assert.Equal(0, chain.Upstreams[0].Health.ConsecutiveFailures);
        Assert.DoesNotContain(_journal.Entries, e => e.Kind == JournalKinds.FailedAttempt);
    }

    [Fact]
    public async Task When_the_original_answers_first_the_hedge_is_cancelled_and_counted_as_lost()
    {
        var (_, nodes, pending) = await HedgedAsync();

        nodes[0].Answer(200, Answer);
        using var result = await pending;

        Assert.Equal(("ok", "u0"), (result.Outcome, result.ServedBy!.Name));
        await WaitFor(() => nodes[1].Cancelled == 1);
        Assert.Equal((1, 0, 1), (Hedges("sent"), Hedges("won"), Hedges("lost")));
    }

    [Fact]
    public async Task Failover_follows_the_published_ranking_and_counts_each_failed_attempt_once()
    {
        var (chain, nodes) = Chain(3, hedging: false);
        // u2 fastest, then u0, then u1: the published order, not the config order, decides.
        chain.Upstreams[0].Latency.Record(TimeSpan.FromMilliseconds(20));
        chain.Upstreams[1].Latency.Record(TimeSpan.FromMilliseconds(40));
        chain.Upstreams[2].Latency.Record(TimeSpan.FromMilliseconds(5));
        var snapshot = chain.PublishNow();
        Assert.Equal(["u2", "u0", "u1"], snapshot.Ranking.Select(u => u.Name));
        nodes[2].Answer(503, "busy");
        nodes[0].Answer(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"missing trie node 0xabc"}}""");
        nodes[1].Answer(200, Answer);

        using var result = await Forwarder().ForwardAsync(chain, Item(), CancellationToken.None);

        Assert.Equal(("ok", "u1"), (result.Outcome, result.ServedBy!.Name));
        Assert.Equal(["u2", "u0", "u1"], _sent);
        Assert.Equal([("u2", "http_503"), ("u0", "-32000 missing trie node 0xabc")], result.Attempts.Select(a => (a.Upstream, a.Reason)));
        Assert.Equal(1, _metrics.Failovers.WithLabels("test", "u2", "http_error").Value);
        Assert.Equal(1, _metrics.Failovers.WithLabels("test", "u0", "node_error").Value);
        Assert.Equal((0L, 1L), chain.Upstreams[2].Errors.Totals());
        Assert.Equal((0L, 1L), chain.Upstreams[0].Errors.Totals());
        Assert.Equal((1L, 0L), chain.Upstreams[1].Errors.Totals());
        Assert.Equal(2, _journal.Entries.Count(e => e.Kind == JournalKinds.FailedAttempt));
        Assert.Single(_journal.Entries, e => e is { Kind: JournalKinds.Failover, Reason: "recovered" });
        Assert.Equal(0, Hedges("sent"));
    }

    [Fact]
    public async Task A_request_reads_the_ranking_published_when_it_starts()
    {
        var (chain, nodes) = Chain(2, hedging: false);
        chain.Upstreams[0].Latency.Record(TimeSpan.FromMilliseconds(20));
        chain.Upstreams[1].Latency.Record(TimeSpan.FromMilliseconds(40));
        chain.PublishNow();
        nodes[0].Answer(200, Answer);
        nodes[1].Answer(200, Answer);
        using (var first = await Forwarder().ForwardAsync(chain, Item(), CancellationToken.None))
        {
            Assert.Equal("u0", first.ServedBy!.Name);
        }

        // u0 goes down; the request thread that saw it only signals, and the next request follows the new snapshot.
        var before = chain.Published.Version;
        chain.Upstreams[0].Health.Failed("connection_refused", hard: true);
        chain.SignalRanking();
        await WaitFor(() => chain.Published.Version > before);
        using var second = await Forwarder().ForwardAsync(chain, Item(), CancellationToken.None);

        Assert.Equal("u1", second.ServedBy!.Name);
        Assert.Equal(["u0", "u1"], _sent);
    }

    /// <summary>A read on two upstreams, u0 ranked first; its first attempt is out.</summary>
    private (ChainRuntime Chain, GatedTransport[] Nodes, Task<ForwardResult> Pending) StartOnTwo()
    {
        var (chain, nodes) = Chain(2);
        RankInConfigOrder(chain);
        return (chain, nodes, Forwarder().ForwardAsync(chain, Item(), CancellationToken.None).AsTask());
    }

    /// <summary>As <see cref="StartOnTwo"/>, then the hedge delay passes: both attempts are out, neither answered.</summary>
    private async Task<(ChainRuntime Chain, GatedTransport[] Nodes, Task<ForwardResult> Pending)> HedgedAsync()
    {
        var started = StartOnTwo();
        await WaitFor(() => started.Nodes[0].Requests == 1);
        _time.Advance(HedgeDelay);
        await WaitFor(() => started.Nodes[1].Requests == 1);
        return started;
    }

    /// <summary>u0 faster than u1, published: the first attempt goes to u0.</summary>
    private static void RankInConfigOrder(ChainRuntime chain)
    {
        chain.Upstreams[0].Latency.Record(TimeSpan.FromMilliseconds(10));
        chain.Upstreams[1].Latency.Record(TimeSpan.FromMilliseconds(20));
        Assert.Equal(["u0", "u1"], chain.PublishNow().Ranking.Select(u => u.Name));
    }

    private double Hedges(string result) => _metrics.Hedges.WithLabels("test", result).Value;

    private ReadForwarder Forwarder() =>
        new(new UpstreamSender(_time, [], []), _time, new AdaptiveHedgeDelay(new MethodLatencyBook(_time), new FullMode(), _metrics), _journal);

    private static RpcRequestItem Item() =>
        new(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"]}"""), "1"u8.ToArray(), "eth_getBalance", default);

    private (ChainRuntime Chain, GatedTransport[] Nodes) Chain(int count, bool hedging = true)
    {
        var options = new ChainOptions
        {
            Name = "test",
            ChainId = 31337,
            Routing = new RoutingOptions { Hedge = new HedgeOptions { Enabled = hedging, MaxExtra = 1, ColdStart = HedgeDelay, Min = TimeSpan.FromMilliseconds(20), Max = TimeSpan.FromMilliseconds(500) } },
            Upstreams = [.. Enumerable.Range(0, count).Select(i => new UpstreamOptions { Name = $"u{i}", Url = $"http://127.0.0.1:{9 + i}" })],
        };
        var nodes = new GatedTransport[count];
        for (var i = 0; i < count; i++)
        {
            nodes[i] = new GatedTransport($"u{i}", _sent);
        }

        var upstreams = options.Upstreams.Select((u, i) => new Upstream("test", u, options.Routing, nodes[i], _time, _metrics)).ToArray();
        foreach (var upstream in upstreams)
        {
            upstream.Health.ProbeSucceeded(100, chainIdVerified: true);
        }

        return (new ChainRuntime(options, upstreams), nodes);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 1_000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private sealed class FullMode : IChainModeSource
    {
        public string ModeOf(string chain) => "full";
    }

    /// <summary>Answers when the test calls <see cref="Answer"/>; an attempt cancelled before that is counted.</summary>
    private sealed class GatedTransport(string name, List<string> sent) : IUpstreamTransport
    {
        private readonly TaskCompletionSource<(int Status, string Body)> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _requests;
        private int _cancelled;

        public int Requests => Volatile.Read(ref _requests);

        public int Cancelled => Volatile.Read(ref _cancelled);

        public void Answer(int status, string body) => _answer.TrySetResult((status, body));

        public async ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> request, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken)
        {
            lock (sent)
            {
                sent.Add(name);
            }

            Interlocked.Increment(ref _requests);
            try
            {
                var (status, body) = await _answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                into.Write(Encoding.UTF8.GetBytes(body));
                return new UpstreamResponse(status, null, framed: true);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _cancelled);
                throw;
            }
        }

        public void Dispose()
        {
        }
    }
}
