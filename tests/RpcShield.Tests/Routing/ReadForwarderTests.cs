using System.Text;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Tests.Chaos;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Tests.Routing;

/// <summary>
/// A read sent to a chain's only upstream keeps no per-request bookkeeping unless its attempt
/// fails; then it must be answered and journaled exactly like any failed request.
/// </summary>
public sealed class ReadForwarderTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingJournal _journal = new();
    private readonly RpcShieldMetrics _metrics = new(Prometheus.Metrics.NewCustomRegistry());

    [Fact]
    public async Task A_lone_upstreams_answer_is_served_with_no_attempt_recorded_or_journaled()
    {
        var chain = Chain(new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"result":"0x10"}"""));

        using var result = await Forward(chain);

        Assert.Equal("ok", result.Outcome);
        Assert.Same(chain.Upstreams[0], result.ServedBy);
        Assert.Equal("""{"jsonrpc":"2.0","id":1,"result":"0x10"}""", Encoding.UTF8.GetString(result.Body!.Span));
        Assert.Empty(result.Attempts);
        Assert.Empty(_journal.Entries);
    }

    [Fact]
    public async Task A_lone_upstreams_failure_is_answered_with_its_attempt_and_journaled()
    {
        var chain = Chain(new ScriptedTransport(503, "busy"));

        using var result = await Forward(chain);

        Assert.Equal(RpcErrorCodes.NoUpstream, result.ErrorCode);
        var attempt = Assert.Single(result.Attempts);
        Assert.Equal(("u0", "http_503"), (attempt.Upstream, attempt.Reason));
        Assert.Equal([JournalKinds.FailedAttempt, JournalKinds.Failover], _journal.Entries.Select(e => e.Kind));
        Assert.Equal("exhausted", _journal.Entries[1].Reason);
    }

    [Fact]
    public async Task A_lone_upstreams_own_json_rpc_error_is_passed_on()
    {
        const string NodeError = """{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}""";
        var chain = Chain(new ScriptedTransport(200, NodeError));

        using var result = await Forward(chain);

        Assert.Equal(NodeError, Encoding.UTF8.GetString(result.Body!.Span));
        Assert.Same(chain.Upstreams[0], result.ServedBy);
        Assert.Contains(_journal.Entries, e => e.Kind == JournalKinds.FailedAttempt && e.Reason!.StartsWith("-32000", StringComparison.Ordinal));
    }

    [Fact]
    public void Candidates_are_never_reordered_in_place()
    {
        var chain = Chain(new ScriptedTransport(200, "{}"), new ScriptedTransport(200, "{}"));
        chain.Upstreams[1].Health.ProbeSucceeded(101, chainIdVerified: true);
        chain.Upstreams[1].Latency.Record(TimeSpan.FromSeconds(1)); // slow enough to rank second despite the lag penalty
        chain.PublishNow();
        var ranking = chain.Ranking.ToArray();
        Assert.Same(chain.Upstreams[0], ranking[0]); // ranked first though a block behind: the head preference reorders

        var candidates = chain.Candidates("eth_blockNumber", 8);
        var preferred = HeadPreference.PreferBestHead(chain, Item(), candidates);

        Assert.Same(chain.Upstreams[1], preferred[0]);
        Assert.Equal(ranking, chain.Ranking);
        Assert.Equal(ranking, candidates);
    }

    [Fact]
    public async Task Reads_batched_to_a_lone_upstream_are_served_from_one_request_with_nothing_journaled()
    {
        var node = new ScriptedTransport(200, """[{"jsonrpc":"2.0","id":2,"result":"0x2"},{"jsonrpc":"2.0","id":1,"result":"0x1"}]""");
        var chain = Chain(node);

        var (first, second) = await ForwardBatch(chain, Item(1), Item(2));

        Assert.Equal(("""{"jsonrpc":"2.0","id":1,"result":"0x1"}""", """{"jsonrpc":"2.0","id":2,"result":"0x2"}"""), (Text(first), Text(second)));
        Assert.Equal(1, node.Requests);
        Assert.Empty(_journal.Entries);
    }

    [Fact]
    public async Task A_failed_batch_fails_each_read_as_its_own_attempt_and_journals_it()
    {
        var chain = Chain(new ScriptedTransport(503, "busy"));

        var (first, second) = await ForwardBatch(chain, Item(1), Item(2));

        Assert.All([first, second], result =>
        {
            Assert.Equal(RpcErrorCodes.NoUpstream, result.ErrorCode);
            Assert.Equal(("u0", "http_503"), (result.Attempts[0].Upstream, result.Attempts[0].Reason));
        });
        Assert.Equal(2, _journal.Entries.Count(e => e.Kind == JournalKinds.FailedAttempt));
        Assert.Equal(2, _journal.Entries.Count(e => e.Kind == JournalKinds.Failover && e.Reason == "exhausted"));
    }

    [Fact]
    public async Task A_read_left_alone_in_its_batch_is_sent_by_itself()
    {
        var node = new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"result":"0x1"}""");
        var chain = Chain(node);
        var forwarder = Forwarder();
        var call = new RpcCall(chain, new Microsoft.AspNetCore.Http.HeaderDictionary(), RpcTransport.Http);
        call.Batch = forwarder.CoalesceBatch(CancellationToken.None);

        var pending = forwarder.ForwardAsync(chain, Item(1), CancellationToken.None, call);
        call.Batch!.Flush();
        using var result = await pending;

        Assert.Equal("""{"jsonrpc":"2.0","id":1,"result":"0x1"}""", Text(result));
        Assert.Equal(["""{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"""], node.Bodies);
    }

    private const string EvmError = """{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"EVM error InvalidFEOpcode"}}""";

    [Fact]
    public async Task An_error_a_second_node_shares_is_the_answer_and_counts_against_no_node()
    {
        // reth and geth word it differently; code and data decide.
        var first = new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"err: odd","data":"0xAB"}}""");
        var second = new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"internal error: odd","data":"0xab"}}""");
        var third = new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"result":"0x1"}""");
        var chain = Chain(first, second, third);

        using var result = await Forward(chain);

        Assert.Equal("upstream_error", result.Outcome);
        Assert.Contains("\"code\":-32603", Text(result), StringComparison.Ordinal);
        Assert.Empty(result.Attempts);
        Assert.Equal((1, 1, 0), (first.Requests, second.Requests, third.Requests));
        AssertNothingAgainst(chain.Upstreams[0], chain.Upstreams[1]);
        Assert.Equal(1, chain.Upstreams[0].Errors.Totals().Ok);
    }

    [Fact]
    public async Task An_error_another_node_answers_past_is_the_first_nodes_fault()
    {
        var chain = Chain(new ScriptedTransport(200, EvmError), new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"result":"0x1"}"""));

        using var result = await Forward(chain);

        Assert.Equal(("ok", "u1"), (result.Outcome, result.ServedBy!.Name));
        Assert.Equal(("u0", "-32603 EVM error InvalidFEOpcode"), (result.Attempts[0].Upstream, result.Attempts[0].Reason));
        Assert.Equal((0L, 1L), chain.Upstreams[0].Errors.Totals());
        Assert.Equal(1, chain.Upstreams[0].Health.ConsecutiveFailures);
        Assert.Equal(1, _metrics.Failovers.WithLabels("test", "u0", "node_error").Value);
        Assert.Contains(_journal.Entries, e => e is { Kind: JournalKinds.FailedAttempt, Upstream: "u0" });
    }

    [Fact]
    public async Task Errors_with_different_data_are_not_shared_and_the_best_nodes_error_is_answered_against_no_node()
    {
        var chain = Chain(
            new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x","data":"0x01"}}"""),
            new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x","data":"0x02"}}"""));

        using var result = await Forward(chain);

        Assert.Equal(("upstream_error", "u0"), (result.Outcome, result.ServedBy!.Name));
        Assert.Contains("0x01", Text(result), StringComparison.Ordinal);
        AssertNothingAgainst(chain.Upstreams[0], chain.Upstreams[1]);
    }

    [Fact]
    public async Task A_lone_upstreams_unconfirmed_error_is_its_answer_with_no_second_opinion_to_ask()
    {
        var chain = Chain(new ScriptedTransport(200, EvmError));

        using var result = await Forward(chain);

        Assert.Equal(EvmError, Text(result));
        Assert.Equal("upstream_error", result.Outcome);
        AssertNothingAgainst(chain.Upstreams[0]);
    }

    [Fact]
    public async Task The_confirming_attempt_goes_only_to_trusted_upstreams_when_any_is_marked()
    {
        var untrusted = new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"result":"0x1"}""");
        var trusted = new ScriptedTransport(200, EvmError);
        var chain = Chain(trusted: 2, new ScriptedTransport(200, EvmError), untrusted, trusted);

        using var result = await Forward(chain);

        Assert.Equal(("upstream_error", "u2"), (result.Outcome, result.ServedBy!.Name));
        Assert.Equal((0, 1), (untrusted.Requests, trusted.Requests));
        AssertNothingAgainst(chain.Upstreams[0], chain.Upstreams[2]);
    }

    [Fact]
    public async Task A_clear_node_fault_still_fails_over_and_counts()
    {
        var chain = Chain(
            new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"missing trie node 0xabc"}}"""),
            new ScriptedTransport(200, """{"jsonrpc":"2.0","id":1,"result":"0x1"}"""));

        using var result = await Forward(chain);

        Assert.Equal(("ok", "u1"), (result.Outcome, result.ServedBy!.Name));
        Assert.Equal(1, chain.Upstreams[0].Errors.Totals().Failed);
    }

    private void AssertNothingAgainst(params Upstream[] upstreams)
    {
        foreach (var upstream in upstreams)
        {
            Assert.Equal(0, upstream.Errors.Totals().Failed);
            Assert.Equal(0, upstream.Health.ConsecutiveFailures);
            Assert.Equal(RpcShield.Upstreams.Health.HealthStatus.Healthy, upstream.Health.Status);
            Assert.Equal(0, _metrics.Failovers.WithLabels("test", upstream.Name, "node_error").Value);
            Assert.DoesNotContain(_journal.Entries, e => e.Kind == JournalKinds.FailedAttempt && e.Upstream == upstream.Name);
        }
    }

    private async Task<(ForwardResult First, ForwardResult Second)> ForwardBatch(ChainRuntime chain, RpcRequestItem first, RpcRequestItem second)
    {
        var forwarder = Forwarder();
        var call = new RpcCall(chain, new Microsoft.AspNetCore.Http.HeaderDictionary(), RpcTransport.Http);
        call.Batch = forwarder.CoalesceBatch(CancellationToken.None);
        var one = forwarder.ForwardAsync(chain, first, CancellationToken.None, call);
        var two = forwarder.ForwardAsync(chain, second, CancellationToken.None, call);
        call.Batch!.Flush();
        return (await one, await two);
    }

    private static string Text(ForwardResult result) => Encoding.UTF8.GetString(result.Body!.Span);

    private ReadForwarder Forwarder() => new(new UpstreamSender(_time, [], []), _time, new NoHedging(), _journal);

    private ValueTask<ForwardResult> Forward(ChainRuntime chain) => Forwarder().ForwardAsync(chain, Item(), CancellationToken.None);

    private static RpcRequestItem Item(int id = 1)
    {
        var raw = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":{{id}},"method":"eth_blockNumber"}""");
        return new RpcRequestItem(raw, Encoding.UTF8.GetBytes(id.ToString(System.Globalization.CultureInfo.InvariantCulture)), "eth_blockNumber", default);
    }

    private ChainRuntime Chain(params IUpstreamTransport[] transports) => Chain(trusted: -1, transports);

    /// <param name="trusted">Index of the upstream marked `trusted` (-1: none).</param>
    private ChainRuntime Chain(int trusted, params IUpstreamTransport[] transports)
    {
        var options = new ChainOptions
        {
            Name = "test",
            ChainId = 31337,
            Upstreams = [.. transports.Select((_, i) => new UpstreamOptions { Name = $"u{i}", Url = $"http://127.0.0.1:{9 + i}", Trusted = i == trusted })],
        };

        var upstreams = options.Upstreams.Select((u, i) => new Upstream("test", u, options.Routing, transports[i], _time, _metrics)).ToArray();
        foreach (var upstream in upstreams)
        {
            // Probed healthy at one head: routable, as after the health monitor's first round.
            upstream.Health.ProbeSucceeded(100, chainIdVerified: true);
        }

        return new ChainRuntime(options, upstreams);
    }

    /// <summary>Answers every post with one status and body (the forwarder's logic, not the wire, is under test here).</summary>
    private sealed class ScriptedTransport(int status, string body) : IUpstreamTransport
    {
        public List<string> Bodies { get; } = [];

        public int Requests => Bodies.Count;

        public ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> request, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken)
        {
            lock (Bodies)
            {
                Bodies.Add(Encoding.UTF8.GetString(request.Span));
            }

            into.Write(Encoding.UTF8.GetBytes(body));
            return ValueTask.FromResult(new UpstreamResponse(status, null, framed: true));
        }

        public void Dispose()
        {
        }
    }
}
