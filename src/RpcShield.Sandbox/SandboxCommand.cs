using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.Hosting.Cli;
using RpcShield.Configuration;

namespace RpcShield.Sandbox;

/// <summary>`rpcshield sandbox [--config proxy.yaml]`: starts the sandbox network the config points at, then serves RpcShield in the same process.</summary>
internal static class SandboxCommand
{
    public static async Task<int> RunAsync(CommandLine args, TextWriter errors)
    {
        if (await RunCommands.LoadForStartAsync(args, errors).ConfigureAwait(false) is not { } options)
        {
            return 1;
        }

        if (options.Sandbox is null)
        {
            await errors.WriteLineAsync($"{args.ConfigPath}: no `sandbox:` section; `rpcshield sandbox` needs one (see docs/sandbox.md)").ConfigureAwait(false);
            return 1;
        }

        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        await using var network = await SandboxNetwork.StartAsync(options.Sandbox, options.Chains[0].ChainId, new SandboxSettings { LoggerFactory = loggers }).ConfigureAwait(false);
        await using var app = Build(options, args.ConfigPath, network);
        await errors.WriteLineAsync(
            $"sandbox: anvil chain {network.ChainId} (slot {options.Sandbox.Slot.TotalMilliseconds} ms), " +
            $"{network.Nodes.Count} node(s), {network.Builders.Count} builder(s); RpcShield on {options.Server.Listen}; control API at {options.Server.Listen.TrimEnd('/')}/sandbox").ConfigureAwait(false);
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>RpcShield's host with the sandbox control API mapped beside `/status`.</summary>
    public static WebApplication Build(ProxyOptions options, string? configPath, SandboxNetwork network, HostSettings? settings = null)
    {
        settings ??= new HostSettings();
        var configureApp = settings.ConfigureApp;
        var configureServices = settings.ConfigureServices;
        return RpcShieldHost.Build(options, configPath, new HostSettings
        {
            TimeProvider = settings.TimeProvider,
            ListenOverride = settings.ListenOverride,
            Environment = settings.Environment,
            MinimumLogLevel = settings.MinimumLogLevel,
            ConfigureServices = services =>
            {
                services.AddSingleton(network);
                configureServices?.Invoke(services);
            },
            ConfigureApp = app =>
            {
                app.MapSandboxControl(network);
                configureApp?.Invoke(app);
            },
        });
    }
}
