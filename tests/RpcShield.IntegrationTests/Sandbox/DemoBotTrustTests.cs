using System.Diagnostics;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>
/// The demo bot against the shipped proxy.yaml and its sandbox for 60 s, while its schedule stops,
/// lags (node-b serves a head 5 blocks old) and stalls nodes: no bundle is lost to a stale nonce
/// read (before head-consistent routing and the nonce quorum, a lag event cost one).
/// </summary>
public sealed class DemoBotTrustTests
{
    [Fact]
    public async Task A_60s_demo_bot_run_with_node_lag_events_loses_no_bundle_to_a_stale_read()
    {
        // One-second slots: more lag events in the minute (the bot's schedule repeats every 16 slots).
        await using var sandbox = await ShippedSandbox.StartAsync(TimeSpan.FromSeconds(1));

        var output = await RunBotAsync(sandbox.Address, TimeSpan.FromSeconds(60));

        Assert.Contains("node-b now serves a head 5 blocks old", output, StringComparison.Ordinal);
        Assert.DoesNotContain("stale nonce", output, StringComparison.Ordinal);
        Assert.Contains("INCLUDED", output, StringComparison.Ordinal);
    }

    private static async Task<string> RunBotAsync(Uri rpc, TimeSpan duration)
    {
        // The bot is built with the solution, in the configuration the tests run in.
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)))!;
        var bot = Path.Combine(Tools.RepositoryRoot, "src", "RpcShield.DemoBot", "bin", configuration, "net10.0", "RpcShield.DemoBot.dll");
        Assert.True(File.Exists(bot), $"{bot} not built");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[bot, "--rpc", rpc.ToString(), "--duration", $"{(int)duration.TotalSeconds}s"])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(duration + TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return await stdout + await stderr;
    }
}
