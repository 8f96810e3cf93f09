using System.Text;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams.Heads;
using RpcShield.JsonRpc;
using RpcShield.Tests.Routing.Hedging;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams.Heads;

/// <summary>Which block a read names, how `latest` is pinned, and which upstreams may serve it.</summary>
public sealed class HeadConsistencyTests
{
    private readonly FakeTimeProvider _time = new();

    [Theory]
    [InlineData("eth_getBalance", """["0xabc","latest"]""", BlockRefKind.Latest, -1)]
    [InlineData("eth_getBalance", """["0xabc","0x1f"]""", BlockRefKind.Number, 31)]
    [InlineData("eth_getBalance", """["0xabc"]""", BlockRefKind.Omitted, -1)]
    [InlineData("eth_getStorageAt", """["0xabc","0x0","pending"]""", BlockRefKind.Pending, -1)]
    [InlineData("eth_getStorageAt", """["0xabc","latest","0x5"]""", BlockRefKind.Number, 5)]
    [InlineData("eth_call", """[{"to":"0xabc","data":"latest"},"safe"]""", BlockRefKind.Safe, -1)]
    [InlineData("eth_call", """[{"to":"0xabc"},{"blockNumber":"0x10"}]""", BlockRefKind.Number, 16)]
    [InlineData("eth_call", """[{"to":"0xabc"},{"blockHash":"0x01"}]""", BlockRefKind.Hash, -1)]
    [InlineData("eth_estimateGas", """[{"to":"0xabc"}]""", BlockRefKind.Omitted, -1)]
    [InlineData("eth_getBlockByNumber", """["finalized",false]""", BlockRefKind.Finalized, -1)]
    [InlineData("eth_getBlockByNumber", """["earliest",false]""", BlockRefKind.Earliest, -1)]
    [InlineData("eth_blockNumber", "", BlockRefKind.Tip, -1)]
    [InlineData("eth_getTransactionReceipt", """["0x01"]""", BlockRefKind.None, -1)]
    [InlineData("eth_getBalance", """["0xabc",""", BlockRefKind.None, -1)]
    public void The_block_parameter_is_read_at_the_methods_position(string method, string @params, object kind, long number)
    {
        var block = BlockRef.Read(method, Encoding.UTF8.GetBytes(@params));

        Assert.Equal(((BlockRefKind)kind, number), (block.Kind, block.Number));
    }

    [Fact]
    public void Pinning_replaces_only_the_block_tag_and_keeps_the_id_and_everything_else_byte_exact()
    {
        const string Raw = """{"id":"x\"latest","jsonrpc":"2.0","method":"eth_call","params":[{"to":"0xabc","data":"latest"} , "latest"]}""";
        var item = Item(Raw, "eth_call");

        var pinned = HeadConsistency.Pin(item, BlockRef.Read(item.Method, item.Params.Span), 0x1234);

        Assert.Equal("""{"id":"x\"latest","jsonrpc":"2.0","method":"eth_call","params":[{"to":"0xabc","data":"latest"} , "0x1234"]}""", Encoding.UTF8.GetString(pinned.Raw.Span));
        Assert.Equal("""[{"to":"0xabc","data":"latest"} , "0x1234"]""", Encoding.UTF8.GetString(pinned.Params.Span));
        Assert.Equal("""{"id":"x\"latest","jsonrpc":"2.0","method":"eth_call","params":[{"to":"0xabc","data":"latest"} , "latest"]}""", Encoding.UTF8.GetString(item.Raw.Span));
    }

    [Fact]
    public void Tip_reads_go_only_to_upstreams_at_the_best_head_and_pinned_ones_prefer_them()
    {
        var chain = AtHeads99And100(pinLatest: true);
        var candidates = new[] { chain.Upstreams[0], chain.Upstreams[1], chain.Upstreams[2] };

        var pending = Item("""{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{},"pending"]}""", "eth_call");
        Assert.Equal(["u1", "u2"], HeadConsistency.Route(chain, pending, candidates, out var pinnedPending).Select(u => u.Name));
        Assert.False(pinnedPending.IsPinned);

        var latest = Item("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xabc","latest"]}""", "eth_getBalance");
        Assert.Equal(["u1", "u2", "u0"], HeadConsistency.Route(chain, latest, candidates, out var pinned).Select(u => u.Name));
        // Only the node behind gets the number; those at the head answer their own latest as sent.
        Assert.Equal((true, 100L), (pinned.IsPinned, pinned.Block));
        Assert.Contains("\"0x64\"", Encoding.UTF8.GetString(pinned.BodyFor(chain.Upstreams[0], latest.Raw).Span), StringComparison.Ordinal);
        Assert.True(pinned.BodyFor(chain.Upstreams[1], latest.Raw).Equals(latest.Raw));

        var old = Item("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xabc","0x63"]}""", "eth_getBalance");
        Assert.Same(candidates, HeadConsistency.Route(chain, old, candidates, out _));

        var unpinnedChain = AtHeads99And100(pinLatest: false);
        var unpinned = Item("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xabc","latest"]}""", "eth_getBalance");
        Assert.Equal(["u1", "u2"], HeadConsistency.Route(unpinnedChain, unpinned, [.. unpinnedChain.Upstreams], out _).Select(u => u.Name));
    }

    /// <summary>Three upstreams: u0 at 99, u1 and u2 at 100 (the best head).</summary>
    private Chains.ChainRuntime AtHeads99And100(bool pinLatest)
    {
        var (_, chain, _) = TestChains.Create(_time, c => c with { Routing = c.Routing with { Consistency = c.Routing.Consistency with { PinLatest = pinLatest } } }, upstreams: 3);
        chain.Upstreams[0].Health.ProbeSucceeded(99, chainIdVerified: true);
        chain.Upstreams[1].Health.ProbeSucceeded(100, chainIdVerified: true);
        chain.Upstreams[2].Health.ProbeSucceeded(100, chainIdVerified: true);
        chain.PublishNow();
        return chain;
    }

    [Fact]
    public void A_head_far_above_every_other_is_trusted_only_when_confirmed_or_when_its_node_moves_on()
    {
        var (_, chain, _) = TestChains.Create(_time, upstreams: 3);
        foreach (var upstream in chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(100, chainIdVerified: true);
        }

        chain.PublishNow();
        chain.Upstreams[0].Health.HeadObserved(101, null);
        chain.PublishNow();
        Assert.Equal(101, chain.BestHead); // one block on: trusted as it climbs

        chain.Upstreams[0].Health.HeadObserved(900, null);
        chain.PublishNow();
        Assert.Equal(101, chain.BestHead); // a jump nobody confirms

        chain.Upstreams[1].Health.HeadObserved(899, null);
        chain.PublishNow();
        Assert.Equal(900, chain.BestHead); // confirmed by a second node

        var (_, stuck, _) = TestChains.Create(_time, upstreams: 2);
        stuck.Upstreams[0].Health.ProbeSucceeded(50, chainIdVerified: true);
        stuck.Upstreams[1].Health.ProbeSucceeded(10, chainIdVerified: true);
        stuck.PublishNow();
        Assert.Equal(10, stuck.BestHead);
        stuck.Upstreams[0].Health.HeadObserved(51, null);
        stuck.PublishNow();
        Assert.Equal(51, stuck.BestHead); // it moved on past its unconfirmed head: the other is stuck or syncing
    }

    [Theory]
    [InlineData(99, """{"code":-32000,"message":"header not found"}""", AttemptKind.Behind)]
    [InlineData(100, """{"code":-32000,"message":"header not found"}""", AttemptKind.NodeError)]
    [InlineData(99, """{"code":-32602,"message":"BlockOutOfRangeError: block height is 99 but requested was 100"}""", AttemptKind.Behind)]
    [InlineData(99, """{"code":-32000,"message":"missing trie node"}""", AttemptKind.NodeError)]
    public async Task Header_not_found_from_a_node_behind_the_block_is_not_its_fault(long head, string error, object expected)
    {
        var (_, chain, _) = TestChains.Create(_time, upstreams: 1);
        var upstream = chain.Upstreams[0];
        upstream.Health.ProbeSucceeded(head, chainIdVerified: true);
        var transport = new Answering($$"""{"jsonrpc":"2.0","id":1,"error":{{error}}}""");
        using var node = new Upstream("test", upstream.Options, chain.Options.Routing, transport, _time, new RpcShield.Telemetry.RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry()));
        node.Health.ProbeSucceeded(head, chainIdVerified: true);

        using var outcome = await new UpstreamSender(_time, [], []).SendAsync(
            node, """{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xabc","0x64"]}"""u8.ToArray(), "eth_getBalance", TimeSpan.FromSeconds(1), call: null, CancellationToken.None);

        Assert.Equal((AttemptKind)expected, outcome.Kind);
        Assert.Equal((AttemptKind)expected == AttemptKind.Behind ? 0 : 1, node.Health.ConsecutiveFailures);
    }

    private static RpcRequestItem Item(string raw, string method)
    {
        var envelope = RpcEnvelopeParser.Parse(Encoding.UTF8.GetBytes(raw), 1);
        var item = Assert.Single(envelope.Items);
        Assert.Equal(method, item.Method);
        return item;
    }

    private sealed class Answering(string body) : RpcShield.Upstreams.Transport.IUpstreamTransport
    {
        public ValueTask<RpcShield.Upstreams.Transport.UpstreamResponse> PostAsync(ReadOnlyMemory<byte> request, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken)
        {
            into.Write(Encoding.UTF8.GetBytes(body));
            return ValueTask.FromResult(new RpcShield.Upstreams.Transport.UpstreamResponse(200, null, framed: true));
        }

        public void Dispose()
        {
        }
    }
}
