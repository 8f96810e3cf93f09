using System.Text;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Configuration;

/// <summary>
/// Attack: a proxy.yaml edit nested 40,000 levels deep used to overflow the stack inside the YAML
/// parser during hot reload (SIGABRT: the bot lost its RPC). Now it is a rejected reload.
/// </summary>
public sealed class ConfigBombReloadTests
{
    [Fact]
    public async Task A_deeply_nested_edit_is_a_rejected_reload_and_the_proxy_keeps_serving()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("node", node.Url)]);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        Assert.Equal("0x7a69", (await Rpc.CallAsync(proxy, "eth_chainId")).Result.GetString());

        var bomb = yaml + "\nbomb: " + new StringBuilder().Insert(0, "{a: ", 40_000) + "1" + new string('}', 40_000) + "\n";
        await File.WriteAllTextAsync(proxy.ConfigPath!, bomb);
        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(proxy, "rpcshield_config_reloads_total", ("result", "failure")) >= 1, "the nested edit rejected");

        // Still alive, still on the last good configuration.
        Assert.Equal("0x7a69", (await Rpc.CallAsync(proxy, "eth_chainId")).Result.GetString());
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_config_reloads_total", ("result", "success")));

        // The watcher survived: a good edit afterwards applies.
        await File.WriteAllTextAsync(proxy.ConfigPath!, yaml.Replace("retries: 2", "retries: 1", StringComparison.Ordinal));
        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(proxy, "rpcshield_config_reloads_total", ("result", "success")) >= 1, "the good edit applied");
    }
}
