using System.Diagnostics;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>
/// A second, independent WebSocket client: the npm `ws` package driven by a small node script.
/// The package comes from `.tools/node_modules/ws` (scripts/install-deps.sh) or is installed into
/// a temp directory with npm on first use.
/// </summary>
internal static class NodeWsClient
{
    public const string Version = "8.23.0";

    private const string Script = """
        const WebSocket = require(process.env.WS_MODULE);
        const ws = new WebSocket(process.argv[2]);
        ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] })));
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString());
          if (m.id === 1) console.log('SUB ' + (m.result || JSON.stringify(m.error)));
          else if (m.method === 'eth_subscription') console.log('HEAD ' + m.params.subscription + ' ' + parseInt(m.params.result.number, 16));
        });
        ws.on('close', (code) => { console.log('CLOSED ' + code); process.exit(0); });
        ws.on('error', (e) => { console.log('ERROR ' + e.message); process.exit(1); });
        setTimeout(() => { ws.close(); process.exit(0); }, Number(process.argv[3]));
        """;

    public static async Task<string> ModuleDirectoryAsync()
    {
        var local = Path.Combine(Tools.RepositoryRoot, ".tools", "node_modules", "ws");
        if (File.Exists(Path.Combine(local, "package.json")))
        {
            return local;
        }

        var prefix = Path.Combine(Path.GetTempPath(), "rpcshield-npm-ws-" + Version);
        var module = Path.Combine(prefix, "node_modules", "ws");
        if (!File.Exists(Path.Combine(module, "package.json")))
        {
            var (exit, output) = await RunAsync("npm", $"install --silent --no-audit --no-fund --prefix \"{prefix}\" ws@{Version}", TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, "npm could not install ws (run scripts/install-deps.sh): " + output);
        }

        return module;
    }

    /// <summary>Starts the script: it subscribes to newHeads at <paramref name="url"/> and prints `SUB id` / `HEAD id number` lines.</summary>
    public static Process Start(string module, Uri url, TimeSpan duration, Action<string> line)
    {
        var script = Path.Combine(Path.GetTempPath(), $"rpcshield-ws-client-{Guid.NewGuid():N}.js");
        File.WriteAllText(script, Script);
        var info = new ProcessStartInfo("node", $"\"{script}\" {url} {(int)duration.TotalMilliseconds}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["WS_MODULE"] = module;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } text)
            {
                line(text);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } text)
            {
                line("STDERR " + text);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => File.Delete(script);
        process.EnableRaisingEvents = true;
        return process;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
