using System.Numerics;
using System.Text;
using RpcShield.Configuration;
using RpcShield.Features.Inclusion;
using RpcShield.Tests.Features.Fanout;

namespace RpcShield.Tests.Features.Inclusion;

public sealed class InclusionJudgeTests
{
    private const string TitanCoinbase = "0x4838B106FCe9647Bdf1E7877BF73cE8B0BAD5f97";
    private const string BuilderNetCoinbase = "0xdadB0d80178819F2319190D340ce9A924f783711";

    private static readonly List<BuilderOptions> Builders =
    [
        new() { Name = "titan", Url = "https://rpc.titanbuilder.xyz", Coinbase = TitanCoinbase, ExtraData = "Titan (titanbuilder.xyz)" },
        new() { Name = "buildernet", Url = "https://rpc.buildernet.org", Coinbase = BuilderNetCoinbase, ExtraData = "BuilderNet" },
        new() { Name = "quasar", Url = "https://rpc.quasar.win", ExtraData = "Quasar (quasar.win)" },
    ];

    private static string ExtraData(string text) => "0x" + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(text));

    private static BlockView Block(string miner, string extraData, params BlockTransaction[] txs) => new(100, miner, extraData, txs);

    [Fact]
    public void Attributes_by_coinbase_case_insensitively()
    {
        Assert.Equal("titan", InclusionJudge.AttributeBuilder(Block(TitanCoinbase.ToLowerInvariant(), "0x"), Builders));
        Assert.Equal("buildernet", InclusionJudge.AttributeBuilder(Block(BuilderNetCoinbase, ExtraData("Titan (titanbuilder.xyz)")), Builders));
    }

    [Fact]
    public void Attributes_by_extra_data_substring_when_the_coinbase_is_unknown()
    {
        var proposerFeeRecipient = "0x1f9090aaE28b8a3dCeaDf281B0F12828e676c326";

        Assert.Equal("quasar", InclusionJudge.AttributeBuilder(Block(proposerFeeRecipient, ExtraData("Quasar (quasar.win)")), Builders));
        Assert.Equal("buildernet", InclusionJudge.AttributeBuilder(Block(proposerFeeRecipient, ExtraData("BuilderNet (Flashbots)")), Builders));
        Assert.Equal("other", InclusionJudge.AttributeBuilder(Block(proposerFeeRecipient, ExtraData("beaverbuild.org")), Builders));
        Assert.Equal("other", InclusionJudge.AttributeBuilder(Block(proposerFeeRecipient, "0xzz"), Builders));
    }

    [Fact]
    public void Extra_data_with_invalid_utf8_still_matches_its_readable_part()
    {
        var bytes = new byte[] { 0xff, 0xfe }.Concat(Encoding.UTF8.GetBytes("Titan (titanbuilder.xyz)")).ToArray();

        Assert.Equal("titan", InclusionJudge.AttributeBuilder(Block("0x0000000000000000000000000000000000000001", "0x" + Convert.ToHexStringLower(bytes)), Builders));
    }

    [Fact]
    public void A_bundle_tx_in_the_block_is_included()
    {
        var bundle = Track(TestTransactions.Eip1559(TestTransactions.Key0, 4, TestTransactions.Address1, 1));
        var mine = bundle.Transactions[0];
        var block = Block(TitanCoinbase, "0x", new BlockTransaction("0x01", TestTransactions.Address1, 0), new BlockTransaction(mine.Hash.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal), mine.Sender, 4));

        var decision = InclusionJudge.Decide(bundle, block, Builders);

        Assert.Equal(new InclusionDecision("included", "titan", null), decision);
    }

    [Fact]
    public void Another_tx_from_the_same_sender_with_the_same_nonce_means_lost()
    {
        var competitorRaw = TestTransactions.Eip1559(TestTransactions.Key0, 4, TestTransactions.Address0, 999);
        var competitor = RpcShield.Features.Inclusion.RawTransaction.TryDecode(competitorRaw)!;
        var bundle = Track(TestTransactions.Eip1559(TestTransactions.Key1, 0, TestTransactions.Address0, 1), TestTransactions.Eip1559(TestTransactions.Key0, 4, TestTransactions.Address1, 1));
        var block = Block(BuilderNetCoinbase, "0x", new BlockTransaction(competitor.Hash, competitor.Sender.ToLowerInvariant(), competitor.Nonce));

        var decision = InclusionJudge.Decide(bundle, block, Builders);

        Assert.Equal(new InclusionDecision("lost", "buildernet", competitor.Hash), decision);
    }

    [Fact]
    public void Same_sender_with_a_different_nonce_or_same_nonce_from_another_sender_is_not_a_loss()
    {
        var bundle = Track(TestTransactions.Eip1559(TestTransactions.Key0, 4, TestTransactions.Address1, 1));
        var block = Block(
            "0x0000000000000000000000000000000000000001",
            "0x",
            new BlockTransaction("0xaa", TestTransactions.Address0, 5),
            new BlockTransaction("0xbb", TestTransactions.Address1, 4));

        Assert.Equal(new InclusionDecision("not_included", "other", null), InclusionJudge.Decide(bundle, block, Builders));
    }

    [Fact]
    public void Parses_a_full_block_response()
    {
        var json = """
            {"jsonrpc":"2.0","id":1,"result":{"number":"0x1b4","miner":"0x4838b106fce9647bdf1e7877bf73ce8b0bad5f97","extraData":"0x546974616e","transactions":[
              {"hash":"0xabc","from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","nonce":"0x2a","input":"0x"}]}}
            """;

        var block = InclusionJudge.ParseBlock(Encoding.UTF8.GetBytes(json));

        Assert.NotNull(block);
        Assert.Equal(0x1b4, block.Number);
        Assert.Equal("Titan", InclusionJudge.ExtraDataText(block.ExtraDataHex));
        Assert.Equal(new BlockTransaction("0xabc", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", new BigInteger(42)), Assert.Single(block.Transactions));
        Assert.Null(InclusionJudge.ParseBlock("""{"jsonrpc":"2.0","id":1,"result":null}"""u8));
    }

    private static TrackedBundle Track(params byte[][] raws)
    {
        var decoded = raws.Select(r => RpcShield.Features.Inclusion.RawTransaction.TryDecode(r)!).ToList();
        return new TrackedBundle
        {
            Chain = "mainnet",
            BundleHash = "0x00",
            TargetBlock = 100,
            TxHashes = decoded.Select(d => d.Hash).ToList(),
            Transactions = decoded,
        };
    }
}
