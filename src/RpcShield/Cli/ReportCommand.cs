using System.Text.Json;
using RpcShield.Configuration;
using RpcShield.Reporting;

namespace RpcShield.Cli;

/// <summary>`rpcshield report [--journal F] [--since 7d] [--format text|json] [--config proxy.yaml]`.</summary>
internal static class ReportCommand
{
    public static int Run(CommandLine args, TextWriter output, TextWriter errors, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var sinceText = args.Option("since") ?? "7d";
        if (!DurationParser.TryParse(sinceText, out var window) || window <= TimeSpan.Zero)
        {
            errors.WriteLine($"rpcshield report: --since: '{sinceText}' is not a duration (e.g. 24h, 7d, 30d)");
            return 2;
        }

        var format = args.Option("format") ?? "text";
        if (format is not ("text" or "json"))
        {
            errors.WriteLine($"rpcshield report: --format: '{format}' must be text or json");
            return 2;
        }

        var journal = args.Option("journal") ?? JournalFromConfig(args) ?? "rpcshield.db";
        var until = time.GetUtcNow();
        var report = ReportBuilder.Build(journal, until - window, until);
        output.Write(format == "json"
            ? JsonSerializer.Serialize(report, ReportJsonContext.Default.FailureReport) + Environment.NewLine
            : ReportTextRenderer.Render(report));
        return 0;
    }

    /// <summary>`journal.path` of the config (explicit `--config`, or ./proxy.yaml when present).</summary>
    private static string? JournalFromConfig(CommandLine args)
    {
        var path = args.ConfigPath;
        if (!File.Exists(path))
        {
            return null;
        }

        var result = ConfigLoader.LoadFile(path);
        return result.IsValid && !string.IsNullOrWhiteSpace(result.Options!.Journal.Path) ? result.Options.Journal.Path : null;
    }
}
