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
        var options = loaded.Options!;
        var sandbox = options.Sandbox!;
        var chain = options.Chains[0];
        sandbox.Slot = slot;
        chain.Routing.Subscriptions.BlockTime = slot;
        sandbox.AnvilPort = 0;
        sandbox.Nodes.ForEach(n => n.Port = 0);
        sandbox.Builders.ForEach(b => b.Port = 0);
        options.Journal.Path = journalPath ?? "";
        var network = await SandboxNetwork.StartAsync(sandbox, chain.ChainId, new SandboxSettings { AnvilPath = Tools.Anvil });
        foreach (var upstream in chain.Upstreams)
        {
            var port = network.Node(upstream.Name)!.Port;
            upstream.Url = new UriBuilder(upstream.Url) { Port = port }.Uri.ToString();
            upstream.WsUrl = upstream.WsUrl is null ? null : new UriBuilder(upstream.WsUrl) { Port = port }.Uri.ToString();
        }

        foreach (var builder in chain.Builders)
        {
            builder.Url = $"http://127.0.0.1:{network.Builder(builder.Name)!.Port}";
        }

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
