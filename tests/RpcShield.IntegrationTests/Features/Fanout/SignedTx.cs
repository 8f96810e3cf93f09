using System.Numerics;
using Nethereum.Model;
using Nethereum.Signer;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>Raw signed EIP-1559 transactions for bundles (anvil dev keys, test only).</summary>
internal static class SignedTx
{
    /// <summary>anvil's second dev account.</summary>
    public const string DevKey1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    public static string Transfer(string key, long nonce, string to, long wei, long chainId = 31337, long maxFeeGwei = 100) =>
        new Transaction1559Signer().SignTransaction(key, new Transaction1559(
            chainId, nonce, maxPriorityFeePerGas: BigInteger.Parse("2000000000"), maxFeePerGas: new BigInteger(maxFeeGwei) * 1_000_000_000,
            gasLimit: 21000, receiverAddress: to, amount: wei, data: "", accessList: [])) is var hex && hex.StartsWith("0x", StringComparison.Ordinal) ? hex : "0x" + hex;
}
