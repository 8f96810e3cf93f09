using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Tests.Routing.Hedging;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Tests.JsonRpc;

/// <summary>
/// The dispatcher's bookkeeping, whether the caller awaits in the dispatcher's state machine
/// (<see cref="RpcDispatcher.DispatchAsync"/>) or in its own (Begin, await, End: the HTTP endpoint).
/// </summary>
public sealed class RpcDispatcherTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly ChainRuntime _chain;
    private readonly RpcShieldMetrics _metrics;

    public RpcDispatcherTests() => (_, _chain, _metrics) = TestChains.Create(_time);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_handler_cancelled_because_the_client_left_is_answered_and_counted(bool beginEnd)
    {
        using var client = new CancellationTokenSource();
        var handler = new ScriptedHandler(async token =>
        {
            await client.CancelAsync();
            token.ThrowIfCancellationRequested();
            throw new InvalidOperationException("not reached");
        });
        var dispatcher = Dispatcher(handlers: [handler]);

        var result = await Dispatch(dispatcher, Item("eth_call"), client.Token, beginEnd);

        Assert.Equal(RpcErrorCodes.NoUpstream, result.ErrorCode);
        Assert.Equal("Request cancelled by the client", result.ErrorMessage);
        Assert.Equal(1, Requests("eth_call", result.Outcome));
    }

    [Fact]
    public async Task A_handler_that_throws_cancellation_synchronously_is_answered_too()
    {
        using var client = new CancellationTokenSource();
        await client.CancelAsync();
        var dispatcher = Dispatcher(handlers: [new ScriptedHandler(token => throw new OperationCanceledException(token))]);

        var result = await Dispatch(dispatcher, Item("eth_call"), client.Token, beginEnd: true);

        Assert.Equal("Request cancelled by the client", result.ErrorMessage);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_routed_answer_passes_the_filters_and_names_its_upstream(bool beginEnd)
    {
        var filter = new RecordingFilter();
        var upstream = _chain.Upstreams.First();
        var dispatcher = Dispatcher(handlers: [new ScriptedHandler(_ => ValueTask.FromResult(Served(upstream)))], filters: [filter]);
        var call = TestCall();

        var result = await Dispatch(dispatcher, Item("eth_call", id: "42"), CancellationToken.None, beginEnd, call);

        Assert.Equal(["42"], filter.Ids);
        Assert.Same(upstream, result.ServedBy);
        Assert.Contains(call.Annotations(), a => a.Key == "X-RpcShield-Upstream" && a.Value == upstream.Name);
        Assert.Equal(1, Requests("eth_call", "ok"));
    }

    [Fact]
    public async Task An_item_a_gate_lets_through_asynchronously_is_still_filtered()
    {
        var filter = new RecordingFilter();
        var dispatcher = Dispatcher(
            gates: [new ScriptedGate(async () => { await Task.Yield(); return null; })],
            handlers: [new ScriptedHandler(_ => ValueTask.FromResult(Served(_chain.Upstreams.First())))],
            filters: [filter]);

        await Dispatch(dispatcher, Item("eth_call", id: "7"), CancellationToken.None, beginEnd: true);

        Assert.Equal(["7"], filter.Ids);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_gate_answer_is_final_and_never_filtered(bool asynchronous)
    {
        var filter = new RecordingFilter();
        var shed = ForwardResult.Error(RpcErrorCodes.Shed, "shed");
        var gate = new ScriptedGate(async () =>
        {
            if (asynchronous)
            {
                await Task.Yield();
            }

            return shed;
        });
        var dispatcher = Dispatcher(gates: [gate], handlers: [new ScriptedHandler(_ => throw new InvalidOperationException("routed past a gate answer"))], filters: [filter]);

        var result = await Dispatch(dispatcher, Item("eth_call"), CancellationToken.None, beginEnd: true);

        Assert.Same(shed, result);
        Assert.Empty(filter.Ids);
        Assert.Equal(1, Requests("eth_call", shed.Outcome));
    }

    [Fact]
    public async Task Ending_a_dispatch_twice_counts_and_filters_it_once()
    {
        var filter = new RecordingFilter();
        var dispatcher = Dispatcher(handlers: [new ScriptedHandler(_ => ValueTask.FromResult(Served(_chain.Upstreams.First())))], filters: [filter]);
        var call = TestCall();

        var answer = dispatcher.Begin(call, Item("eth_call"), CancellationToken.None, out var dispatch);
        var result = await answer;
        var first = dispatcher.End(ref dispatch, call, result);
        var second = dispatcher.End(ref dispatch, call, first);

        Assert.Same(first, second);
        Assert.Single(filter.Ids);
        Assert.Equal(1, Requests("eth_call", "ok"));
    }

    private RpcDispatcher Dispatcher(IRpcGate[]? gates = null, IRpcHandler[]? handlers = null, IRpcResultFilter[]? filters = null) =>
        new(gates ?? [], handlers ?? [], filters ?? [], new ReadForwarder(new UpstreamSender(_time, [], []), _time, new NoHedging()), _metrics, _time);

    private async Task<ForwardResult> Dispatch(RpcDispatcher dispatcher, RpcRequestItem item, CancellationToken cancellationToken, bool beginEnd, RpcCall? call = null)
    {
        call ??= TestCall();
        if (!beginEnd)
        {
            return await dispatcher.DispatchAsync(call, item, cancellationToken);
        }

        var answer = dispatcher.Begin(call, item, cancellationToken, out var dispatch);
        return dispatcher.End(ref dispatch, call, await answer);
    }

    private RpcCall TestCall() => new(_chain, new HeaderDictionary(), RpcTransport.Http);

    private double Requests(string method, string outcome) =>
        _metrics.Requests.WithLabels(_chain.Name, method, outcome).Value;

    private static ForwardResult Served(Upstream upstream)
    {
        var body = new PooledBuffer();
        body.Write("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}"u8);
        return ForwardResult.Served(body, upstream, nodeError: false, []);
    }

    private static RpcRequestItem Item(string method, string id = "1")
    {
        var raw = Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"{method}\"}}");
        return new RpcRequestItem(raw, Encoding.UTF8.GetBytes(id), method, default);
    }

    private sealed class ScriptedHandler(Func<CancellationToken, ValueTask<ForwardResult>> answer) : IRpcHandler
    {
        public bool Handles(ChainRuntime chain, string method) => true;

        public ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken) => answer(cancellationToken);
    }

    private sealed class ScriptedGate(Func<ValueTask<ForwardResult?>> admit) : IRpcGate
    {
        public ValueTask<ForwardResult?> AdmitAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken) => admit();
    }

    private sealed class RecordingFilter : IRpcResultFilter
    {
        public List<string> Ids { get; } = [];

        public bool Applies(string method) => true;

        public ForwardResult Apply(RpcCall call, ReadOnlyMemory<byte> id, ForwardResult result)
        {
            Ids.Add(Encoding.UTF8.GetString(id.Span));
            return result;
        }
    }
}
