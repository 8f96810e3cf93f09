using System.Text.Json;
using RpcShield.Features.Signing;

namespace RpcShield.Tests.Features.Signing;

public sealed class FlashbotsSignerTests
{
    public static TheoryData<int> VectorIndexes()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Vectors().GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VectorIndexes))]
    public void Signs_every_shared_vector_exactly(int index)
    {
        var vector = Vectors()[index];
        var signer = new FlashbotsSigner(vector.GetProperty("key").GetString()!);
        var body = FlashbotsSigner.Utf8(vector.GetProperty("body").GetString()!);

        Assert.Equal(vector.GetProperty("header").GetString(), signer.Sign(body));
        if (vector.TryGetProperty("keccak256_body", out var digest))
        {
            Assert.Equal(digest.GetString(), FlashbotsSigner.BodyDigestText(body));
        }
    }

    [Theory]
    [MemberData(nameof(VectorIndexes))]
    public void Verifies_every_shared_vector_and_rejects_a_tampered_body(int index)
    {
        var vector = Vectors()[index];
        var body = FlashbotsSigner.Utf8(vector.GetProperty("body").GetString()!);
        var header = vector.GetProperty("header").GetString()!;

        Assert.True(FlashbotsSigner.TryVerify(header, body, out var address));
        Assert.Equal(header[..header.IndexOf(':', StringComparison.Ordinal)], address, ignoreCase: true);
        Assert.False(FlashbotsSigner.TryVerify(header, FlashbotsSigner.Utf8(vector.GetProperty("body").GetString() + " "), out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("no-colon")]
    [InlineData("0x96216849c49358B10257cb55b28eA603c874b05E:0x1234")]
    [InlineData("0x96216849c49358B10257cb55b28eA603c874b05E:zz")]
    public void Rejects_malformed_headers(string? header) => Assert.False(FlashbotsSigner.TryVerify(header, "Hello"u8, out _));

    internal static JsonElement Vectors()
    {
        var path = Path.Combine(SharedPaths.TestData, "vectors", "flashbots-signature.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("vectors").Clone();
    }
}
