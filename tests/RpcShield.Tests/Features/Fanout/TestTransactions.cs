using System.Numerics;
using Nethereum.Model;
using Nethereum.Signer;

namespace RpcShield.Tests.Features.Fanout;

/// <summary>Raw signed transactions crafted with Nethereum's signers (anvil dev keys, test only).</summary>
internal static class TestTransactions
{
    public const string Key0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    public const string Address0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    public const string Key1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    public const string Address1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    public static byte[] Eip1559(string key, long nonce, string to, long wei, long chainId = 1) =>
        Bytes(new Transaction1559Signer().SignTransaction(key, new Transaction1559(
            chainId, nonce, maxPriorityFeePerGas: 2_000_000_000, maxFeePerGas: 100_000_000_000,
            gasLimit: 21000, receiverAddress: to, amount: wei, data: "", accessList: [])));

    public static byte[] Legacy(string key, long nonce, string to, long wei, long chainId = 1) =>
        Bytes(new LegacyTransactionSigner().SignTransaction(key, new BigInteger(chainId), to, wei, nonce, 1_000_000_000, 21000, ""));

    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.StartsWith("0x", StringComparison.Ordinal) ? hex[2..] : hex);
}
