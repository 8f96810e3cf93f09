using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RpcShield.Configuration;

namespace RpcShield.Sandbox;

/// <summary>Knobs for starting the sandbox (tests inject time, randomness and the anvil path).</summary>
internal sealed class SandboxSettings
{
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Slot winner draws; seed it for a reproducible sequence.</summary>
    public Random Random { get; init; } = new();

    /// <summary>anvil binary; default: <c>RPCSHIELD_ANVIL</c>, <c>.tools/anvil</c> above the app or working directory, PATH.</summary>
    public string? AnvilPath { get; init; }

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Run the slot loop (tests can turn it off and seal blocks themselves).</summary>
    public bool AutoSeal { get; init; } = true;
}

/// <summary>
/// The local sandbox network `rpcshield sandbox` starts: one anvil chain with mining driven per slot,
/// node endpoints in front of it and sandbox builders, all on loopback.
/// </summary>
internal sealed class SandboxNetwork : IAsyncDisposable
{
    private readonly AnvilProcess _anvilProcess;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private Task _slots = Task.CompletedTask;

    private SandboxNetwork(SandboxOptions options, long chainId, AnvilProcess anvil, HttpClient http, SandboxSettings settings)
    {
        Options = options;
        ChainId = chainId;
        _anvilProcess = anvil;
        _http = http;
        Anvil = new AnvilClient(http, anvil.Url);
        var simulator = new SandboxBundleSimulator(Anvil);
        Builders = [.. options.Builders.Select(b => new SandboxBuilder(b, () => Slots!.Head, simulator))];
        Nodes = [.. options.Nodes.Select(n => new SandboxNode(n, Anvil, http, settings.TimeProvider))];
        Slots = new SlotProducer(Anvil, Builders, settings.TimeProvider, settings.Random, settings.LoggerFactory.CreateLogger("RpcShield.Sandbox"));
    }

    public SandboxOptions Options { get; }

    public long ChainId { get; }

    /// <summary>URL of the sandbox anvil itself (the nodes forward to it).</summary>
    public Uri AnvilUrl => _anvilProcess.Url;

    internal AnvilClient Anvil { get; }

    internal IReadOnlyList<SandboxNode> Nodes { get; }

    internal IReadOnlyList<SandboxBuilder> Builders { get; }

    internal SlotProducer Slots { get; }

    public IReadOnlyList<SealedBlock> History => Slots.History;

    public event Action<SealedBlock>? BlockSealed
    {
        add => Slots.BlockSealed += value;
        remove => Slots.BlockSealed -= value;
    }

    internal SandboxNode? Node(string name) => Nodes.FirstOrDefault(n => n.Name == name);

    internal SandboxBuilder? Builder(string name) => Builders.FirstOrDefault(b => b.Name == name);

    /// <summary>Starts anvil, the node endpoints, the builders and (unless disabled) the slot loop.</summary>
    public static async Task<SandboxNetwork> StartAsync(SandboxOptions options, long chainId, SandboxSettings? settings = null, CancellationToken cancellationToken = default)
    {
        settings ??= new SandboxSettings();
        var binary = settings.AnvilPath ?? AnvilLocator.Find()
            ?? throw new InvalidOperationException($"anvil not found: run scripts/install-deps.sh, or set {AnvilLocator.EnvironmentVariable}");
        var anvil = await AnvilProcess.StartAsync(binary, options.AnvilPort, chainId, cancellationToken).ConfigureAwait(false);
        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30), UseProxy = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var network = new SandboxNetwork(options, chainId, anvil, http, settings);
        try
        {
            await network.Slots.InitializeAsync(cancellationToken).ConfigureAwait(false);
            foreach (var node in network.Nodes)
            {
                await node.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            foreach (var builder in network.Builders)
            {
                await builder.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            if (settings.AutoSeal)
            {
                network._slots = network.Slots.RunAsync(options.Slot, network._stop.Token);
            }

            return network;
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Seals the next block now with an optional forced winner (for tests and the control API).</summary>
    public Task<SealedBlock> SealAsync(string? winner = null, CancellationToken cancellationToken = default) =>
        Slots.SealAsync(cancellationToken, winner is null ? null : Builder(winner) ?? throw new ArgumentException($"no sandbox builder named '{winner}'", nameof(winner)));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _slots.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            foreach (var node in Nodes)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var builder in Builders)
            {
                await builder.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            // Whatever happened above, never leave the anvil process behind.
            await _anvilProcess.DisposeAsync().ConfigureAwait(false);
            _http.Dispose();
            _stop.Dispose();
        }
    }
}
