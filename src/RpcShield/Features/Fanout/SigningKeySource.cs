using RpcShield.Configuration;
using RpcShield.Features.Signing;

namespace RpcShield.Features.Fanout;

/// <summary>The configured `signing.flashbots_key` signer, rebuilt only when the key changes on reload.</summary>
internal sealed class SigningKeySource(ConfigStore config)
{
    private (string? Key, FlashbotsSigner? Signer) _signer;

    /// <summary>The signer of the current snapshot (null without a key).</summary>
    public FlashbotsSigner? Current
    {
        get
        {
            var key = config.Current.Signing.FlashbotsKey;
            var current = _signer;
            if (current.Key == key)
            {
                return current.Signer;
            }

            var signer = string.IsNullOrEmpty(key) ? null : new FlashbotsSigner(key);
            _signer = (key, signer);
            return signer;
        }
    }
}
