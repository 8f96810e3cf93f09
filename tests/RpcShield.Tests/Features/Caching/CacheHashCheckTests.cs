using System.Text;
using RpcShield.Features.Caching;
using RpcShield.Telemetry;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Heads;

namespace RpcShield.Tests.Features.Caching;

/// <summary>
/// Kept answers record the hash of the block they came from; a hit whose block now has another hash
/// on the chain's best head (a reorg seen without a reorg event) is evicted as `hash_mismatch`, not served.
/// </summary>
public sealed class CacheHashCheckTests : IDisposable
{
    private const string Old = "0x1111111111111111111111111111111111111111111111111111111111111111";
    private const string New = "0x2222222222222222222222222222222222222222222222222222222222222222";

    private readonly RpcShieldMetrics _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private readonly FakeHashes _hashes = new();
    private readonly ChainCache _cache;

    public CacheHashCheckTests() =>
        _cache = new ChainCache("c", new CacheSettings(true, 1 << 20, 2), _metrics.CacheRequests, _metrics.CacheEvictions, _metrics.CacheBytes, _hashes);

    private double Mismatches => _metrics.CacheEvictions.WithLabels("c", "hash_mismatch").Value;

    [Fact]
    public void A_final_answer_whose_block_changed_hash_is_evicted_and_not_served()
    {
        var key = Key("eth_getBlockByNumber", "[\"0x10\",false]");
        _hashes.Canonical[16] = BlockHash.Parse(Old);
        _cache.Put(key, CacheRuleKind.Final, 16, BlockHash.Parse(Old), Answer("{\"number\":\"0x10\"}"), _cache.Head);
        Assert.True(_cache.TryGet(key, CacheRuleKind.Final, _cache.Head, out _));

        // The chain now has another block 16, and no reorg event told the cache.
        _hashes.Canonical[16] = BlockHash.Parse(New);
        Assert.False(_cache.TryGet(key, CacheRuleKind.Final, _cache.Head, out _));
        Assert.Equal(1, Mismatches);
        Assert.False(_cache.TryGet(key, CacheRuleKind.Final, _cache.Head, out _));
        Assert.Equal(1, Mismatches);

        // The node's new answer, recorded with the new hash, is served again.
        _cache.Put(key, CacheRuleKind.Final, 16, BlockHash.Parse(New), Answer("{\"number\":\"0x10\",\"x\":1}"), _cache.Head);
        Assert.True(_cache.TryGet(key, CacheRuleKind.Final, _cache.Head, out var fresh));
        Assert.Contains("\"x\":1", Encoding.UTF8.GetString(fresh.Value), StringComparison.Ordinal);
    }

    [Fact]
    public void A_final_answer_read_before_a_reorg_and_landing_after_it_is_not_kept()
    {
        Assert.True(_cache.OnHead(40, Old, reorg: false));
        var before = _cache.Head;
        var key = Key("eth_getBalance", "[\"0xabc\",\"0x10\"]");

        // The read went out under head 40; a reorg (that evicted from its fork point) came before its answer.
        Assert.True(_cache.OnHead(40, New, reorg: true));
        _cache.Put(key, CacheRuleKind.Final, 16, default, Answer("\"0x1\""), before);
        Assert.False(_cache.TryGet(key, CacheRuleKind.Final, _cache.Head, out _));

        // A read begun after the reorg is kept, and a plain new head does not count as one.
        Assert.True(_cache.OnHead(41, Old, reorg: false));
        _cache.Put(key, CacheRuleKind.Final, 16, default, Answer("\"0x1\""), _cache.Head);
        Assert.True(_cache.TryGet(key, CacheRuleKind.Final, _cache.Head, out _));
    }

    [Fact]
    public void An_answer_is_served_while_its_block_hash_matches_or_is_unknown()
    {
        var recorded = Key("eth_getBalance", "[\"0xabc\",\"0x10\"]");
        var unrecorded = Key("eth_getBalance", "[\"0xabc\",\"0x11\"]");
        _cache.Put(recorded, CacheRuleKind.Final, 16, BlockHash.Parse(Old), Answer("\"0x1\""), _cache.Head);
        _cache.Put(unrecorded, CacheRuleKind.Final, 17, default, Answer("\"0x2\""), _cache.Head);

        // Nothing known of block 16 (older than the tracker remembers): served.
        Assert.True(_cache.TryGet(recorded, CacheRuleKind.Final, _cache.Head, out _));
        _hashes.Canonical[16] = BlockHash.Parse(Old.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal));
        Assert.True(_cache.TryGet(recorded, CacheRuleKind.Final, _cache.Head, out _));

        // An entry that recorded no hash is matched by number only (reorg events): never checked.
        _hashes.Canonical[17] = BlockHash.Parse(New);
        Assert.True(_cache.TryGet(unrecorded, CacheRuleKind.Final, _cache.Head, out _));
        Assert.Equal(0, Mismatches);
    }

    [Fact]
    public void Head_data_records_its_head_and_is_evicted_when_that_block_changed_hash()
    {
        Assert.True(_cache.OnHead(40, Old, reorg: false));
        var generation = _cache.Head;
        var key = Key("eth_getBalance", "[\"0xabc\",\"latest\"]");
        _cache.Put(key, CacheRuleKind.Head, -1, default, Answer("\"0x5\""), generation);
        _hashes.Canonical[40] = BlockHash.Parse(Old);
        Assert.True(_cache.TryGet(key, CacheRuleKind.Head, generation, out _));
        var bytes = _cache.Bytes;
        Assert.True(bytes > 0);

        _hashes.Canonical[40] = BlockHash.Parse(New);
        Assert.False(_cache.TryGet(key, CacheRuleKind.Head, generation, out _));
        Assert.Equal(1, Mismatches);
        Assert.Equal(0, _cache.Bytes);
        Assert.Equal(0, _metrics.CacheBytes.WithLabels("c").Value);
    }

    [Theory]
    // A block names its own hash.
    [InlineData("""{"result":{"hash":"0x2222222222222222222222222222222222222222222222222222222222222222","number":"0x10","parentHash":"0x1111111111111111111111111111111111111111111111111111111111111111"}}""", 16, New)]
    // A transaction's own hash is not its block's: blockHash is.
    [InlineData("""{"result":{"hash":"0x1111111111111111111111111111111111111111111111111111111111111111","blockNumber":"0x10","blockHash":"0x2222222222222222222222222222222222222222222222222222222222222222"}}""", 16, New)]
    // Another block than the one asked for, a balance, a list: no hash.
    [InlineData("""{"result":{"hash":"0x2222222222222222222222222222222222222222222222222222222222222222","number":"0x11"}}""", 16, null)]
    [InlineData("""{"result":"0x10"}""", 16, null)]
    [InlineData("""{"result":[{"blockNumber":"0x10","blockHash":"0x2222222222222222222222222222222222222222222222222222222222222222"}]}""", 16, null)]
    public void A_final_answer_that_names_its_block_gives_that_blocks_hash(string response, long block, string? hash)
    {
        Assert.True(CachePolicy.TryTakeResult(Encoding.UTF8.GetBytes(response), new CacheRule(CacheRuleKind.Final, block), 100, out _, out var at, out var named));
        Assert.Equal(block, at);
        Assert.Equal(BlockHash.Parse(hash), named);
    }

    [Fact]
    public void A_by_hash_answer_records_the_block_it_sits_in_and_its_hash()
    {
        var receipt = """{"result":{"transactionHash":"0x1111111111111111111111111111111111111111111111111111111111111111","blockHash":"0x2222222222222222222222222222222222222222222222222222222222222222","blockNumber":"0x20","status":"0x1"}}"""u8;
        Assert.True(CachePolicy.TryTakeResult(receipt, new CacheRule(CacheRuleKind.ByHash), 100, out _, out var block, out var hash));
        Assert.Equal(32, block);
        Assert.Equal(BlockHash.Parse(New), hash);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0x12")]
    [InlineData("0xzz22222222222222222222222222222222222222222222222222222222222222")]
    [InlineData("1x2222222222222222222222222222222222222222222222222222222222222222")]
    public void Anything_but_a_32_byte_hex_hash_is_unknown(string? text) => Assert.False(BlockHash.Parse(text).IsKnown);

    [Fact]
    public void Hashes_compare_case_blind()
    {
        Assert.True(BlockHash.Parse("0xABCDEF0000000000000000000000000000000000000000000000000000000001").IsKnown);
        Assert.Equal(BlockHash.Parse("0xABCDEF0000000000000000000000000000000000000000000000000000000001"), BlockHash.Parse("0xabcdef0000000000000000000000000000000000000000000000000000000001"));
        Assert.NotEqual(BlockHash.Parse(Old), BlockHash.Parse(New));
    }

    public void Dispose() => _cache.Dispose();

    private static CacheKey Key(string method, string parameters)
    {
        Assert.True(CacheKey.TryCreate(method, Encoding.UTF8.GetBytes(parameters), out var key));
        return key;
    }

    private static SharedAnswer Answer(string value) => new(Encoding.UTF8.GetBytes(value), false, null);

    private sealed class FakeHashes : IBlockHashes
    {
        public Dictionary<long, BlockHash> Canonical { get; } = [];

        public BlockHash CanonicalHash(string chain, long number) => Canonical.GetValueOrDefault(number);

        public BlockHash HashShownBy(Upstream upstream, long number) => default;
    }
}
