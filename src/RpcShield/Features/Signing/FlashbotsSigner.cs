using System.Text;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Signer;
using Nethereum.Util;

namespace RpcShield.Features.Signing;

/// <summary>
/// `X-Flashbots-Signature: &lt;checksummed address&gt;:0x&lt;r‖s‖v&gt;` over the ASCII text
/// `"0x" + hex(keccak256(body))`, EIP-191 personal-sign style. One signature serves every builder
/// as long as the body bytes are forwarded unchanged. The key is held here only: never logged.
/// Signing uses NBitcoin.Secp256k1 (a C# port of libsecp256k1): measured ~5 ms per signature with
/// Nethereum's BouncyCastle path on this machine, which put signing on a race's critical path.
/// </summary>
internal sealed class FlashbotsSigner
{
    public const string HeaderName = "X-Flashbots-Signature";

    private static readonly byte[] PersonalPrefix = Encoding.ASCII.GetBytes("\u0019Ethereum Signed Message:\n66");

    private readonly NBitcoin.Secp256k1.ECPrivKey _key;

    public FlashbotsSigner(string privateKeyHex)
    {
        var secret = privateKeyHex.HexToByteArray();
        _key = NBitcoin.Secp256k1.ECPrivKey.Create(secret);
        Address = new EthECKey(secret, isPrivate: true).GetPublicAddress();
    }

    /// <summary>Checksummed signer address (public: safe to show).</summary>
    public string Address { get; }

    /// <summary>The full header value for <paramref name="body"/>.</summary>
    public string Sign(ReadOnlySpan<byte> body)
    {
        // EIP-191: keccak256("\x19Ethereum Signed Message:\n66" + "0x" + hex(keccak256(body))).
        var digestText = Encoding.ASCII.GetBytes(BodyDigestText(body));
        var message = new byte[PersonalPrefix.Length + digestText.Length];
        PersonalPrefix.CopyTo(message, 0);
        digestText.CopyTo(message, PersonalPrefix.Length);
        var hash = Keccak(message);
        if (!_key.TrySignRecoverable(hash, out var signature) || signature is null)
        {
            throw new InvalidOperationException("secp256k1 signing failed");
        }

        Span<byte> rsv = stackalloc byte[65];
        signature.WriteToSpanCompact(rsv[..64], out var recoveryId);
        rsv[64] = (byte)(27 + recoveryId);
        return $"{Address}:0x{Convert.ToHexStringLower(rsv)}";
    }

    /// <summary>`0x` + lowercase hex keccak256 of the body: the text that is signed.</summary>
    public static string BodyDigestText(ReadOnlySpan<byte> body) => "0x" + Keccak(body).ToHex();

    public static byte[] Keccak(ReadOnlySpan<byte> data) => Sha3Keccack.Current.CalculateHash(data.ToArray());

    /// <summary>
    /// Verifies a header against a body; returns the recovered address when valid. Accepts v in
    /// {0,1,27,28} and compares addresses case-insensitively.
    /// </summary>
    public static bool TryVerify(string? header, ReadOnlySpan<byte> body, out string? address)
    {
        address = null;
        if (string.IsNullOrEmpty(header))
        {
            return false;
        }

        var colon = header.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var claimed = header[..colon];
        var signatureHex = header[(colon + 1)..];
        try
        {
            var signature = signatureHex.HexToByteArray();
            if (signature.Length != 65)
            {
                return false;
            }

            if (signature[64] is 0 or 1)
            {
                signature[64] += 27;
            }

            var recovered = new EthereumMessageSigner().EncodeUTF8AndEcRecover(BodyDigestText(body), signature.ToHex(prefix: true));
            if (!string.Equals(recovered, claimed, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            address = recovered;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Bytes of a UTF-8 string (vectors give bodies as text).</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
