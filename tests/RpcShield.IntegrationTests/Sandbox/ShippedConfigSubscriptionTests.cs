using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Subscriptions;
using RpcShield.Sandbox;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>The repository's own proxy.yaml with its sandbox, as a new user runs it (only ports made ephemeral).</summary>
public sealed class ShippedConfigSubscriptionTests
{
    [Fact]
    public async Task The_shipped_proxy_yaml_and_sandbox_deliver_every_block_to_a_raw_socket_and_to_an_npm_ws_client()
    {
        var module = await NodeWsClient.ModuleDirectoryAsync();
        var loaded = ConfigLoader.LoadFile(Path.Combine(Tools.RepositoryRoot, "proxy.yaml"), _ => null);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        var options = loaded.Options!;
        var sandboxOptions = options.Sandbox!;
        sandboxOptions.Slot = TimeSpan.FromSeconds(1);
        sandboxOptions.AnvilPort = 0;
        sandboxOptions.Nodes.ForEach(n => n.Port = 0);
        sandboxOptions.Builders.ForEach(b => b.Port = 0);
        options.Journal.Path = "";
        await using var network = await SandboxNetwork.StartAsync(sandboxOptions, options.Chains[0].ChainId, new SandboxSettings { AnvilPath = Tools.Anvil });
        var chain = options.Chains[0];
        foreach (var upstream in chain.Upstreams)
        {
            // Same URLs as shipped, on the ports the sandbox got.
            var port = network.Node(upstream.Name)!.Port;
            upstream.Url = new UriBuilder(upstream.Url) { Port = port }.Uri.ToString();
            upstream.WsUrl = upstream.WsUrl is null ? null : new UriBuilder(upstream.WsUrl) { Port = port }.Uri.ToString();
        }

        foreach (var builder in chain.Builders)
        {
            builder.Url = $"http://127.0.0.1:{network.Builder(builder.Name)!.Port}";
        }

        await using var app = SandboxCommand.Build(options, null, network, new HostSettings { ListenOverride = "http://127.0.0.1:0", MinimumLogLevel = LogLevel.Warning });
        await app.StartAsync();
        var address = app.BoundAddress();

        var lines = new NodeWsLines();
        using var process = NodeWsClient.Start(module, new UriBuilder(address) { Scheme = "ws", Path = "/" }.Uri, TimeSpan.FromSeconds(7), lines.Add);
        await using var client = await WsTestClient.ConnectAsync(address);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= 5, TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(heads.Count >= 5, "raw socket: too few heads: " + string.Join(',', heads));
        HeadFailoverTests.AssertConsecutive(heads);
        var nodeHeads = lines.AssertHeads();
        Assert.True(nodeHeads.Count >= 3, "npm ws: too few heads: " + lines);
        HeadFailoverTests.AssertConsecutive(nodeHeads);

        using var http = new HttpClient { BaseAddress = address };
        await FeedStatus.SourceAsync(http, "ws");
    }
}
