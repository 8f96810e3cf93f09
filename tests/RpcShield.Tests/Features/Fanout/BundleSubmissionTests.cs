using System.Text;
using Nethereum.Model;
using RpcShield.Features.Fanout;
using RpcShield.Features.Signing;

namespace RpcShield.Tests.Features.Fanout;

public sealed class BundleSubmissionTests
{
    [Fact]
    public void Keccak_is_keccak256_not_sha3_256()
    {
        // keccak256("") – SHA3-256("") would be a7ffc6f8bf1ed766…
        Assert.Equal("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", Convert.ToHexStringLower(FlashbotsSigner.Keccak([])));
    }

    [Fact]
    public void Transaction_hashes_match_the_hash_nethereum_computes_for_the_signed_transaction()
    {
        var legacy = TestTransactions.Legacy(TestTransactions.Key0, 7, TestTransactions.Address1, 1);
        var dynamic = TestTransactions.Eip1559(TestTransactions.Key0, 8, TestTransactions.Address1, 1);

        var hashes = BundleSubmission.TransactionHashes([legacy, dynamic]);

        Assert.Equal(TransactionFactory.CreateTransaction(legacy).Hash, hashes[0]);
        Assert.Equal(TransactionFactory.CreateTransaction(dynamic).Hash, hashes[1]);
    }

    [Fact]
    public void Bundle_hash_is_keccak_of_the_concatenated_transaction_hashes_in_order()
    {
        var first = TestTransactions.Eip1559(TestTransactions.Key0, 0, TestTransactions.Address1, 1);
        var second = TestTransactions.Eip1559(TestTransactions.Key1, 0, TestTransactions.Address0, 2);
        var h1 = TransactionFactory.CreateTransaction(first).Hash;
        var h2 = TransactionFactory.CreateTransaction(second).Hash;

        Assert.Equal(FlashbotsSigner.Keccak([.. h1, .. h2]), BundleSubmission.BundleHash([first, second]));
        Assert.Equal(FlashbotsSigner.Keccak(h1), BundleSubmission.BundleHash([first]));
        Assert.NotEqual(BundleSubmission.BundleHash([first, second]), BundleSubmission.BundleHash([second, first]));
    }

    [Fact]
    public void Parses_a_bundle_with_extra_builder_specific_fields()
    {
        var tx = TestTransactions.Eip1559(TestTransactions.Key0, 0, TestTransactions.Address1, 1);
        var json = $$"""[{"txs":["0x{{Convert.ToHexStringLower(tx)}}"],"blockNumber":"0x1b4","replacementUuid":"u-1","refundPercent":90,"builders":["titan"]}]""";

        var bundle = BundleSubmission.Parse("eth_sendBundle", Encoding.UTF8.GetBytes(json), out var error);

        Assert.Null(error);
        Assert.NotNull(bundle);
        Assert.Equal(0x1b4, bundle.BlockNumber);
        Assert.Equal("u-1", bundle.ReplacementUuid);
        Assert.Equal(tx, Assert.Single(bundle.RawTransactions));
    }

    [Theory]
    [InlineData("eth_sendBundle", """[]""", "eth_sendBundle params must be")]
    [InlineData("eth_sendBundle", """[{"blockNumber":"0x10"}]""", "txs must be an array")]
    [InlineData("eth_sendBundle", """[{"txs":["0xzz"],"blockNumber":"0x10"}]""", "txs[0] is not")]
    [InlineData("eth_sendBundle", """[{"txs":[42],"blockNumber":"0x10"}]""", "txs[0] is not")]
    [InlineData("eth_sendBundle", """[{"txs":["0x02"]}]""", "blockNumber is required")]
    [InlineData("eth_sendBundle", """[{"txs":["0x02"],"blockNumber":"ten"}]""", "blockNumber must be a hex quantity")]
    [InlineData("eth_sendBundle", """[{"txs":[],"blockNumber":"0x10"}]""", "txs is empty")]
    [InlineData("eth_sendBundle", """[{"txs":[""", "not valid JSON")]
    [InlineData("eth_cancelBundle", """[{}]""", "replacementUuid")]
    [InlineData("eth_sendPrivateRawTransaction", """[1]""", "signed transaction")]
    [InlineData("eth_sendPrivateTransaction", """[{"maxBlockNumber":"0x1"}]""", "\"tx\"")]
    public void Rejects_malformed_params_with_a_clear_message(string method, string json, string expected)
    {
        Assert.Null(BundleSubmission.Parse(method, Encoding.UTF8.GetBytes(json), out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_private_transactions_maxBlockNumber_is_read_and_a_malformed_one_refused()
    {
        var tx = "0x" + Convert.ToHexStringLower(TestTransactions.Eip1559(TestTransactions.Key0, 0, TestTransactions.Address1, 1));

        var withMax = BundleSubmission.Parse("eth_sendPrivateTransaction", Encoding.UTF8.GetBytes($$"""[{"tx":"{{tx}}","maxBlockNumber":"0x2a"}]"""), out _);
        var without = BundleSubmission.Parse("eth_sendPrivateTransaction", Encoding.UTF8.GetBytes($$"""[{"tx":"{{tx}}"}]"""), out _);
        var malformed = BundleSubmission.Parse("eth_sendPrivateTransaction", Encoding.UTF8.GetBytes($$"""[{"tx":"{{tx}}","maxBlockNumber":"soon"}]"""), out var error);

        Assert.Equal(42, withMax!.MaxBlockNumber);
        Assert.Equal(-1, without!.MaxBlockNumber);
        Assert.Null(malformed);
        Assert.Contains("maxBlockNumber", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_bundle_with_a_replacement_uuid_is_a_cancel_and_is_accepted()
    {
        var bundle = BundleSubmission.Parse("eth_sendBundle", """[{"txs":[],"replacementUuid":"u-2"}]"""u8.ToArray(), out var error);

        Assert.Null(error);
        Assert.Equal("u-2", bundle!.ReplacementUuid);
        Assert.Empty(bundle.RawTransactions);
    }

    [Fact]
    public void The_empty_bundle_cancel_keeps_the_client_id_and_uuid()
    {
        var body = FanoutHandler.CancelBody("\"abc\""u8, "u-3", emptyBundle: true);

        Assert.Equal("""{"jsonrpc":"2.0","id":"abc","method":"eth_sendBundle","params":[{"txs":[],"replacementUuid":"u-3"}]}""", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void The_method_cancel_keeps_the_client_id_and_uuid()
    {
        var body = FanoutHandler.CancelBody("7"u8, "u-4", emptyBundle: false);

        Assert.Equal("""{"jsonrpc":"2.0","id":7,"method":"eth_cancelBundle","params":[{"replacementUuid":"u-4"}]}""", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void The_replacement_book_merges_acceptors_per_chain_and_uuid_and_forgets_the_oldest_first()
    {
        var book = new ReplacementBook();
        book.Accepted("main", "u-1", "titan", "method");
        book.Accepted("main", "u-1", "buildernet", "empty_bundle");
        book.Accepted("other", "u-1", "quasar", "method");

        var recipients = book.Recipients("main", "u-1")!;
        Assert.Equal(["buildernet", "titan"], recipients.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("empty_bundle", recipients["buildernet"]);
        Assert.Null(book.Recipients("main", "u-2"));

        for (var i = 0; i < ReplacementBook.Capacity; i++)
        {
            book.Accepted("main", $"x-{i}", "titan", "method");
        }

        Assert.Equal(ReplacementBook.Capacity, book.Count);
        Assert.Null(book.Recipients("main", "u-1"));
        Assert.NotNull(book.Recipients("main", $"x-{ReplacementBook.Capacity - 1}"));
    }
}
