using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Sandbox;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>
/// The repository's own proxy.yaml and its sandbox, as a new user runs them, with only the ports
/// made ephemeral (same URLs as shipped, on the ports the sandbox got) and the journal off.
/// </summary>
internal sealed class ShippedSandbox : IAsyncDisposable
{
    private ShippedSandbox(SandboxNetwork network, WebApplication app)
    {
        Network = network;
        App = app;
    }

    public SandboxNetwork Network { get; }

    public WebApplication App { get; }

    /// <summary>RpcShield's listener.</summary>
    public Uri Address => App.BoundAddress();

    /// <param name="journalPath">A journal file for the run (none when null).</param>
    public static async Task<ShippedSandbox> StartAsync(TimeSpan slot, string? journalPath = null)
    {
        var loaded = ConfigLoader.LoadFile(Path.Combine(Tools.RepositoryRoot, "proxy.yaml"), _ => null);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        var loadedOptions = loaded.Options!;
        var sandbox = loadedOptions.Sandbox! with
        {
            Slot = slot,
            AnvilPort = 0,
            Nodes = [.. loadedOptions.Sandbox!.Nodes.Select(n => n with { Port = 0 })],
            Builders = [.. loadedOptions.Sandbox!.Builders.Select(b => b with { Port = 0 })],
        };
        var loadedChain = loadedOptions.Chains[0];
        var network = await SandboxNetwork.StartAsync(sandbox, loadedChain.ChainId, new SandboxSettings { AnvilPath = Tools.Anvil });
        var chain = loadedChain with
        {
            Routing = loadedChain.Routing with { Subscriptions = loadedChain.Routing.Subscriptions with { BlockTime = slot } },
            Upstreams = [.. loadedChain.Upstreams.Select(upstream =>
            {
                var port = network.Node(upstream.Name)!.Port;
                return upstream with
                {
                    Url = new UriBuilder(upstream.Url) { Port = port }.Uri.ToString(),
                    WsUrl = upstream.WsUrl is null ? null : new UriBuilder(upstream.WsUrl) { Port = port }.Uri.ToString(),
                };
            })],
            Builders = [.. loadedChain.Builders.Select(builder => builder with { Url = $"http://127.0.0.1:{network.Builder(builder.Name)!.Port}" })],
        };
        var options = loadedOptions with
        {
            Sandbox = sandbox,
            Journal = loadedOptions.Journal with { Path = journalPath ?? "" },
            Chains = [chain, .. loadedOptions.Chains.Skip(1)],
        };

        var app = SandboxCommand.Build(options, null, network, new HostSettings { ListenOverride = "http://127.0.0.1:0", MinimumLogLevel = LogLevel.Warning });
        await app.StartAsync();
        return new ShippedSandbox(network, app);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Network.DisposeAsync();
    }
}
