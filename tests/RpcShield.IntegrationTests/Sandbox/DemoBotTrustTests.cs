using System.Diagnostics;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>
/// The demo bot against the shipped proxy.yaml and its sandbox for 60 s, while its schedule stops,
/// lags (node-b serves a head 5 blocks old) and stalls nodes: no bundle is lost to a stale nonce
/// read (before head-consistent routing and the nonce quorum, a lag event cost one). The same run
/// leaves `rpcshield report` the whole analysis: the bot's reported outcomes, why bundles missed, fix this first.
/// </summary>
public sealed class DemoBotTrustTests
{
    [Fact]
    public async Task A_60s_demo_bot_run_with_node_lag_events_loses_no_bundle_to_a_stale_read()
    {
        // One-second slots: more lag events in the minute (the bot's schedule repeats every 16 slots).
        var journal = Path.Combine(Path.GetTempPath(), $"rpcshield-demo-{Guid.NewGuid():N}.db");
        string output;
        await using (var sandbox = await ShippedSandbox.StartAsync(TimeSpan.FromSeconds(1), journal))
        {
            output = await RunBotAsync(sandbox.Address, TimeSpan.FromSeconds(60));
        }

        Assert.Contains("node-b now serves a head 5 blocks old", output, StringComparison.Ordinal);
        Assert.DoesNotContain("stale nonce", output, StringComparison.Ordinal);
        Assert.Contains("INCLUDED", output, StringComparison.Ordinal);

        try
        {
            // The bot printed RpcShield's reasons and reported its outcomes: the report after the run has them all.
            Assert.Contains("| why: ", output, StringComparison.Ordinal);
            var report = RpcShield.Journal.Reporting.ReportBuilder.Build(journal, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
            Assert.True(report.Outcomes.Total >= 20, $"{report.Outcomes.Total} outcomes reported");
            Assert.True(report.Outcomes.Items.Single(i => i.Outcome == "succeeded").Count > 0);
            Assert.True(report.BundleReasons.Judged >= 20, $"{report.BundleReasons.Judged} bundles judged");
            Assert.NotEmpty(report.BundleReasons.Reasons);
            Assert.StartsWith($"{report.BundleReasons.Reasons[0].Percent:0.#} % of your misses were {report.BundleReasons.Reasons[0].Reason}", report.BundleReasons.FixFirst, StringComparison.Ordinal);
            var text = RpcShield.Journal.Reporting.ReportTextRenderer.Render(report);
            Assert.Contains("WHY BUNDLES MISSED", text, StringComparison.Ordinal);
            Assert.Contains("  bundles: ", text, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { journal, journal + "-wal", journal + "-shm" })
            {
                File.Delete(file);
            }
        }
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
