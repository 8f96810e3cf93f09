using System.Text.Json;
using RpcShield.Hosting.Cli;

namespace RpcShield.Chaos.Experiments;

/// <summary>`rpcshield chaos run EXPERIMENT.yaml [--report F] [--format text|json]`. Exit code: 0 pass, 1 fail, 3 inconclusive, 2 usage/config error or the experiment could not run (proxy or admin API unreachable, interrupted).</summary>
internal static class ChaosCommand
{
    public static async Task<int> RunAsync(CommandLine args, TextWriter output, TextWriter log, CancellationToken cancellationToken = default)
    {
        if (args.Positional.Count < 3 || args.Positional[1] != "run")
        {
            await log.WriteLineAsync("usage: rpcshield chaos run EXPERIMENT.yaml [--report FILE] [--format text|json]").ConfigureAwait(false);
            return 2;
        }

        var path = args.Positional[2];
        var options = ExperimentLoader.Load(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), Environment.GetEnvironmentVariable, out var errors);
        if (errors.Count > 0)
        {
            foreach (var error in errors)
            {
                await log.WriteLineAsync($"{path}: {error}").ConfigureAwait(false);
            }

            return 2;
        }

        using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl+C: stop the experiment and disarm the proxy instead of dying mid-chaos.
            e.Cancel = true;
            interrupted.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var runner = new ExperimentRunner(options, TimeProvider.System, log);
        ExperimentReport report;
        try
        {
            report = await runner.RunAsync(interrupted.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or OperationCanceledException)
        {
            await log.WriteLineAsync($"rpcshield chaos: experiment {options.Name} stopped: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var json = JsonSerializer.Serialize(report, ExperimentJson.Default.ExperimentReport);
        await output.WriteAsync(args.Option("format") == "json" ? json + Environment.NewLine : report.ToText()).ConfigureAwait(false);
        if (args.Option("report") is { } file)
        {
            await File.WriteAllTextAsync(file, file.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? json : report.ToText(), cancellationToken).ConfigureAwait(false);
        }

        return report.Verdict switch
        {
            "pass" => 0,
            "fail" => 1,
            _ => 3,
        };
    }

    /// <summary>Serialises a report as the CLI does (tests, --report F.json).</summary>
    public static string ToJson(ExperimentReport report) => JsonSerializer.Serialize(report, ExperimentJson.Default.ExperimentReport);
}
