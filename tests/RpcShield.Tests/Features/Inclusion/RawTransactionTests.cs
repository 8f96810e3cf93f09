using RpcShield.Features.Inclusion;
using RpcShield.Tests.Features.Fanout;

namespace RpcShield.Tests.Features.Inclusion;

public sealed class RawTransactionTests
{
    [Fact]
    public void Decodes_the_eip155_example_transaction()
    {
        // EIP-155's worked example: key 0x4646…46, nonce 9, chain id 1.
        var raw = TestTransactions.Bytes("f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");

        var tx = RawTransaction.TryDecode(raw);

        Assert.NotNull(tx);
        Assert.Equal("0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F", tx.Sender, ignoreCase: true);
        Assert.Equal(9, tx.Nonce);
        Assert.Equal("0x33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788", tx.Hash);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(300)]
    public void Recovers_sender_and_nonce_of_eip1559_and_legacy_transactions(long nonce)
    {
        var dynamic = RawTransaction.TryDecode(TestTransactions.Eip1559(TestTransactions.Key1, nonce, TestTransactions.Address0, 5));
        var legacy = RawTransaction.TryDecode(TestTransactions.Legacy(TestTransactions.Key0, nonce, TestTransactions.Address1, 5));

        Assert.Equal(TestTransactions.Address1, dynamic!.Sender, ignoreCase: true);
        Assert.Equal(nonce, dynamic.Nonce);
        Assert.Equal(TestTransactions.Address0, legacy!.Sender, ignoreCase: true);
        Assert.Equal(nonce, legacy.Nonce);
    }

    [Fact]
    public void Garbage_is_not_decoded() => Assert.Null(RawTransaction.TryDecode([0x02, 0xf8, 0x01]));
}
