using System.Text;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Signer;
using Nethereum.Util;

namespace RpcShield.Signing;

/// <summary>
/// `X-Flashbots-Signature: &lt;checksummed address&gt;:0x&lt;r‖s‖v&gt;` over the ASCII text
/// `"0x" + hex(keccak256(body))`, EIP-191 personal-sign style. One signature serves every builder
/// as long as the body bytes are forwarded unchanged. The key is held here only: never logged.
/// </summary>
public sealed class FlashbotsSigner
{
    public const string HeaderName = "X-Flashbots-Signature";

    private readonly EthECKey _key;
    private readonly EthereumMessageSigner _signer = new();

    public FlashbotsSigner(string privateKeyHex)
    {
        _key = new EthECKey(privateKeyHex.HexToByteArray(), isPrivate: true);
        Address = _key.GetPublicAddress();
    }

    /// <summary>Checksummed signer address (public: safe to show).</summary>
    public string Address { get; }

    /// <summary>The full header value for <paramref name="body"/>.</summary>
    public string Sign(ReadOnlySpan<byte> body)
    {
        var signature = _signer.EncodeUTF8AndSign(BodyDigestText(body), _key);
        return $"{Address}:{signature}";
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
