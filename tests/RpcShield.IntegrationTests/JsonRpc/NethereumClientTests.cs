using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using Nethereum.Web3;
using Nethereum.Web3.Accounts;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.JsonRpc;

/// <summary>A real client library (Nethereum) talks to anvil through RpcShield without noticing it.</summary>
public sealed class NethereumClientTests
{
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    [Fact]
    public async Task Block_number_balance_and_a_signed_transfer_with_its_receipt()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("anvil", node.Url)]));
        var web3 = new Web3(new Account(AnvilNode.DevKey0, 31337), proxy.BaseAddress.ToString());

        var blockBefore = await web3.Eth.Blocks.GetBlockNumber.SendRequestAsync();
        Assert.Equal(await node.BlockNumberAsync(), (long)blockBefore.Value);

        var senderBalance = await web3.Eth.GetBalance.SendRequestAsync(AnvilNode.DevAddress0);
        Assert.Equal(BigInteger.Parse("10000000000000000000000"), senderBalance.Value);
        var recipientBefore = await web3.Eth.GetBalance.SendRequestAsync(Recipient);

        var receipt = await web3.Eth.GetEtherTransferService().TransferEtherAndWaitForReceiptAsync(Recipient, 1.25m);
        Assert.Equal(BigInteger.One, receipt.Status.Value);
        Assert.Equal(AnvilNode.DevAddress0, receipt.From, ignoreCase: true);
        Assert.Equal(Recipient, receipt.To, ignoreCase: true);

        var again = await web3.Eth.Transactions.GetTransactionReceipt.SendRequestAsync(receipt.TransactionHash);
        Assert.Equal(receipt.BlockHash, again.BlockHash);
        var recipientAfter = await web3.Eth.GetBalance.SendRequestAsync(Recipient);
        Assert.Equal(Web3.Convert.ToWei(1.25m), recipientAfter.Value - recipientBefore.Value);
        Assert.True((await web3.Eth.Blocks.GetBlockNumber.SendRequestAsync()).Value > blockBefore.Value);

        // Every call went through RpcShield to the node.
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.True(RpcShield.IntegrationTests.Routing.FailoverTests.Upstream(status, "anvil").GetProperty("window_ok").GetInt64() >= 6);
    }
}
