using System.Text;
using System.Text.Json;
using Polly;
using RpcShield.Chaos;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Tests.Chaos;

/// <summary>The upstream-scope strategies in a real Polly pipeline; time is fake, the "upstream" is the callback.</summary>
public sealed class UpstreamChaosContributorTests
{
    private static ResiliencePipeline<AttemptOutcome> Pipeline(ChaosTestKit kit)
    {
        var builder = new ResiliencePipelineBuilder<AttemptOutcome> { TimeProvider = kit.Time };
        new UpstreamChaosContributor(kit.Controller, kit.Time).Contribute(builder, kit.Upstream);
        return builder.Build();
    }

    private sealed class Forwarded
    {
        public int Count;
    }

    /// <summary>An attempt made for the kit's client call (<paramref name="probe"/>: for none, as a health probe is).</summary>
    private static ValueTask<AttemptOutcome> RunAsync(ChaosTestKit kit, string method, Forwarded forwarded, string? answer = null, CancellationToken cancellationToken = default, bool probe = false)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":"q-7","method":"{{method}}","params":[]}""");
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(AttemptKeys.Method, method);
        context.Properties.Set(AttemptKeys.Body, (ReadOnlyMemory<byte>)body);
        context.Properties.Set(AttemptKeys.Call, probe ? null : kit.Call);
        return Execute();

        async ValueTask<AttemptOutcome> Execute()
        {
            try
            {
                return await Pipeline(kit).ExecuteAsync(
                    (_, state) =>
                    {
                        Interlocked.Increment(ref state.Count);
                        var buffer = new PooledBuffer();
                        buffer.Write(Encoding.UTF8.GetBytes(answer ?? """{"jsonrpc":"2.0","id":"q-7","result":"0x64"}"""));
                        return ValueTask.FromResult(new AttemptOutcome { Upstream = kit.Upstream, Kind = AttemptKind.Answered, Reason = "ok", Body = buffer, Reply = UpstreamReply.Inspect(buffer.Span) });
                    },
                    context,
                    forwarded);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    private static ChaosRuleOptions Rule(string fault, string? latency = null, bool allowSends = false, params string[] methods) =>
        new() { Name = "r", Scope = "upstream", Fault = fault, Targets = ["a"], Latency = latency, AllowSends = allowSends, Methods = [.. methods] };

    [Theory]
    [InlineData("http_500", AttemptKind.HttpError, "chaos_http_500")]
    [InlineData("http_429", AttemptKind.Throttled, "chaos_http_429")]
    [InlineData("reset", AttemptKind.Transport, "chaos_connection_reset")]
    public async Task Failures_replace_the_attempt_without_sending_and_are_marked_injected(string fault, object kind, string reason)
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule(fault)));
        var forwarded = new Forwarded();
        using var outcome = await RunAsync(kit, "eth_call", forwarded);

        Assert.Equal((AttemptKind)kind, outcome.Kind);
        Assert.Equal(reason, outcome.Reason);
        Assert.True(outcome.Injected);
        Assert.Equal(0, forwarded.Count);
        Assert.Equal(1, kit.Injections("r", fault));
        // Organic statistics untouched: nothing recorded in the error window or health.
        Assert.Equal((0, 0), kit.Upstream.Errors.Totals());
        if (fault == "http_429")
        {
            Assert.Equal(TimeSpan.FromSeconds(1), outcome.RetryAfter);
        }
    }

    [Fact]
    public async Task Jsonrpc_error_answers_with_the_request_id_and_the_chaos_code()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("jsonrpc_error")));
        using var outcome = await RunAsync(kit, "eth_call", new Forwarded());

        Assert.Equal(AttemptKind.NodeError, outcome.Kind);
        using var json = JsonDocument.Parse(outcome.Body!.Memory);
        Assert.Equal("q-7", json.RootElement.GetProperty("id").GetString());
        Assert.Equal(-32094, json.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.StartsWith("chaos:", json.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Latency_delays_the_attempt_by_the_configured_amount()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("latency", "100ms")));
        var forwarded = new Forwarded();
        var pending = RunAsync(kit, "eth_call", forwarded).AsTask();

        kit.Time.Advance(TimeSpan.FromMilliseconds(99));
        await Task.Delay(20);
        Assert.False(pending.IsCompleted);
        Assert.Equal(0, forwarded.Count);

        kit.Time.Advance(TimeSpan.FromMilliseconds(1));
        using var outcome = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(AttemptKind.Answered, outcome.Kind);
        Assert.Equal(1, forwarded.Count);
    }

    [Fact]
    public async Task Latency_range_picks_within_min_and_max()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("latency", "100ms..300ms")), new FixedRandom(0.5));
        var pending = RunAsync(kit, "eth_call", new Forwarded()).AsTask();
        kit.Time.Advance(TimeSpan.FromMilliseconds(199));
        await Task.Delay(20);
        Assert.False(pending.IsCompleted);
        kit.Time.Advance(TimeSpan.FromMilliseconds(1));
        (await pending.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
    }

    [Fact]
    public async Task Timeout_hangs_until_the_attempt_deadline()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("timeout")));
        var perAttempt = kit.Options.Chains[0].Routing.Timeouts.PerAttempt;
        var pending = RunAsync(kit, "eth_call", new Forwarded()).AsTask();
        kit.Time.Advance(perAttempt - TimeSpan.FromMilliseconds(1));
        await Task.Delay(20);
        Assert.False(pending.IsCompleted);
        kit.Time.Advance(TimeSpan.FromMilliseconds(1));
        using var outcome = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(AttemptKind.Timeout, outcome.Kind);
        Assert.True(outcome.Injected);
    }

    [Fact]
    public async Task Halt_cuts_a_timeout_hang_short_and_the_attempt_proceeds_untouched()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("timeout")));
        var forwarded = new Forwarded();
        var pending = RunAsync(kit, "eth_call", forwarded).AsTask();
        kit.Time.Advance(TimeSpan.FromMilliseconds(10));
        await Task.Delay(20);
        Assert.False(pending.IsCompleted);

        kit.Controller.Halt();
        using var outcome = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(AttemptKind.Answered, outcome.Kind);
        Assert.False(outcome.Injected);
        Assert.Equal(1, forwarded.Count);
    }

    [Fact]
    public async Task Stale_head_answers_block_number_n_blocks_behind()
    {
        var rule = Rule("stale_head") with { StaleBlocks = 5 };
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(rule));
        using var outcome = await RunAsync(kit, "eth_blockNumber", new Forwarded());
        using var json = JsonDocument.Parse(outcome.Body!.Memory);
        Assert.Equal("0x5f", json.RootElement.GetProperty("result").GetString());
        Assert.Equal("q-7", json.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Sends_get_pre_forward_faults_only_unless_allow_sends()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("http_500")));
        var forwarded = new Forwarded();
        using (var outcome = await RunAsync(kit, "eth_sendRawTransaction", forwarded))
        {
            Assert.Equal(AttemptKind.HttpError, outcome.Kind);
            Assert.Equal(0, forwarded.Count);
        }

        var allowing = new ChaosTestKit(ChaosTestKit.Enabled(Rule("http_500", allowSends: true)));
        var sent = new Forwarded();
        using (var outcome = await RunAsync(allowing, "eth_sendRawTransaction", sent))
        {
            Assert.Equal(AttemptKind.HttpError, outcome.Kind);
            Assert.Equal(1, sent.Count);
        }

        // Stale head never touches a send.
        var stale = new ChaosTestKit(ChaosTestKit.Enabled(Rule("stale_head")));
        using var untouched = await RunAsync(stale, "eth_sendRawTransaction", new Forwarded(), """{"jsonrpc":"2.0","id":"q-7","result":"0x64"}""");
        Assert.False(untouched.Injected);
    }

    [Fact]
    public async Task Probes_and_other_upstreams_are_never_touched()
    {
        var probeKit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("http_500")));
        using (var probe = await RunAsync(probeKit, "eth_blockNumber", new Forwarded(), probe: true))
        {
            Assert.Equal(AttemptKind.Answered, probe.Kind);
            Assert.Empty(probeKit.Call.Annotations());
        }

        var rule = Rule("http_500") with { Targets = ["b"] };
        var other = new ChaosTestKit(ChaosTestKit.Enabled(rule));
        using var outcome = await RunAsync(other, "eth_call", new Forwarded());
        Assert.Equal(AttemptKind.Answered, outcome.Kind);
        Assert.Equal(0, other.Injections("r", "http_500"));
    }

    [Fact]
    public async Task Each_attempt_gets_the_decision_for_the_call_it_was_started_for()
    {
        // Only eth_call of a client call is failed; the attempts below are all in flight at once.
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("http_500", null, false, "eth_call")));
        using var transport = new HeldTransport();
        using var upstream = new Upstream("test", kit.Options.Chains[0].Upstreams[0], kit.Options.Chains[0].Routing, transport, kit.Time, kit.Metrics);
        var sender = new UpstreamSender(kit.Time, [new UpstreamChaosContributor(kit.Controller, kit.Time)], []);
        var reader = kit.NewCall();
        var caller = kit.NewCall();

        var blockNumber = sender.SendAsync(upstream, Request("eth_blockNumber"), "eth_blockNumber", TimeSpan.FromSeconds(5), reader, CancellationToken.None).AsTask();
        var probe = sender.SendAsync(upstream, Request("eth_call"), "eth_call", TimeSpan.FromSeconds(5), call: null, CancellationToken.None).AsTask();
        await transport.WaitForAsync(2);
        var call = sender.SendAsync(upstream, Request("eth_call"), "eth_call", TimeSpan.FromSeconds(5), caller, CancellationToken.None).AsTask();
        transport.Release();

        using var failed = await call.WaitAsync(TimeSpan.FromSeconds(10));
        using var answered = await blockNumber.WaitAsync(TimeSpan.FromSeconds(10));
        using var probed = await probe.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((AttemptKind.HttpError, true), (failed.Kind, failed.Injected));
        Assert.Equal((AttemptKind.Answered, false), (answered.Kind, answered.Injected));
        Assert.Equal((AttemptKind.Answered, false), (probed.Kind, probed.Injected));
        Assert.Equal(2, transport.Sent); // the failed eth_call never left
        Assert.Equal(new KeyValuePair<string, string>("X-RpcShield-Chaos", "r=http_500"), Assert.Single(caller.Annotations()));
        Assert.Empty(reader.Annotations());
        Assert.Empty(kit.Call.Annotations());
        Assert.Equal(1, kit.Injections("r", "http_500"));
    }

    private static ReadOnlyMemory<byte> Request(string method) => Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":[]}""");

    /// <summary>An upstream that answers every request once released, so attempts overlap.</summary>
    private sealed class HeldTransport : IUpstreamTransport
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _sent;

        public int Sent => Volatile.Read(ref _sent);

        public void Release() => _released.TrySetResult();

        public async Task WaitForAsync(int sent)
        {
            for (var i = 0; i < 1000 && Sent < sent; i++)
            {
                await Task.Delay(10);
            }

            Assert.Equal(sent, Sent);
        }

        public async ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> body, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sent);
            await _released.Task.WaitAsync(cancellationToken);
            into.Write("""{"jsonrpc":"2.0","id":1,"result":"0x1"}"""u8);
            return new UpstreamResponse(200, null);
        }

        public void Dispose()
        {
        }
    }
}
