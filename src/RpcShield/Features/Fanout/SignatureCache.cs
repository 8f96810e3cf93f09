using RpcShield.Features.Signing;

namespace RpcShield.Features.Fanout;

/// <summary>
/// Signs each distinct body at most once per request (not once per builder): the bot's body,
/// and the rewritten empty-bundle cancel when one is needed. Builders without `sign: true` get
/// the bot's own signature untouched, and only with the bot's own bytes it was made for.
/// </summary>
internal sealed class SignatureCache(FlashbotsSigner? signer, string? clientSignature, byte[] clientBody)
{
    private readonly Dictionary<byte[], string> _signed = new(ReferenceEqualityComparer.Instance);

    public bool CanSign => signer is not null;

    public string? For(bool sign, byte[] body)
    {
        if (!sign || signer is null)
        {
            return ReferenceEquals(body, clientBody) ? clientSignature : null;
        }

        lock (_signed)
        {
            if (!_signed.TryGetValue(body, out var signature))
            {
                signature = signer.Sign(body);
                _signed[body] = signature;
            }

            return signature;
        }
    }
}
