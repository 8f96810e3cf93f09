using System.Numerics;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;
using Nethereum.Util;

namespace RpcShield.DemoBot;

/// <summary>Signs EIP-1559 transactions for the bot's account with Nethereum.</summary>
internal sealed class Wallet
{
    private readonly byte[] _key;
    private readonly Transaction1559Signer _signer = new();

    public Wallet(string privateKeyHex)
    {
        _key = privateKeyHex.HexToByteArray();
        Address = new EthECKey(_key, isPrivate: true).GetPublicAddress();
    }

    public string Address { get; }

    /// <summary>Signed raw transaction (0x hex) and its hash.</summary>
    public (string Raw, string Hash) Sign(BigInteger chainId, BigInteger nonce, BigInteger priorityFee, BigInteger maxFee, BigInteger gas, string to, BigInteger value)
    {
        var tx = new Transaction1559(chainId, nonce, priorityFee, maxFee, gas, to, value, "", null);
        var raw = _signer.SignTransaction(_key, tx).EnsureHexPrefix();
        var hash = Sha3Keccack.Current.CalculateHash(raw.HexToByteArray()).ToHex(prefix: true);
        return (raw, hash);
    }
}
