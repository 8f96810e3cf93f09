using RpcShield.Features.Fanout;
using RpcShield.Features.Signing;

namespace RpcShield.Tests.Features.Fanout;

public sealed class SignatureCacheTests
{
    private const string Key = "0xfad9c8855b740a0b7ed4c221dbad0f33a83a49cad6b3fe8d5817ac83d38b6a19";

    [Fact]
    public void Signs_each_body_once_however_many_builders_ask()
    {
        var body = """{"jsonrpc":"2.0","id":1,"method":"eth_sendBundle","params":[]}"""u8.ToArray();
        var cancel = """{"jsonrpc":"2.0","id":1,"method":"eth_sendBundle","params":[{"txs":[]}]}"""u8.ToArray();
        var cache = new SignatureCache(new FlashbotsSigner(Key), "client-signature", body);

        var first = cache.For(sign: true, body);
        var second = cache.For(sign: true, body);
        var forCancel = cache.For(sign: true, cancel);

        // The same string instance: computed once, not re-signed per builder.
        Assert.Same(first, second);
        Assert.True(FlashbotsSigner.TryVerify(first, body, out _));
        Assert.True(FlashbotsSigner.TryVerify(forCancel, cancel, out _));
        Assert.False(FlashbotsSigner.TryVerify(forCancel, body, out _));
    }

    [Fact]
    public void Unsigned_builders_get_the_bots_own_signature_only_with_the_bots_own_bytes()
    {
        var body = "a"u8.ToArray();
        var signing = new SignatureCache(new FlashbotsSigner(Key), "client-signature", body);
        var keyless = new SignatureCache(null, "client-signature", body);

        Assert.Equal("client-signature", signing.For(sign: false, body));
        Assert.Equal("client-signature", keyless.For(sign: true, body));
        Assert.Null(keyless.For(sign: true, "b"u8.ToArray()));
        Assert.False(keyless.CanSign);
        Assert.True(signing.CanSign);
    }
}
