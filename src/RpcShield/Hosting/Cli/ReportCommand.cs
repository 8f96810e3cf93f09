using System.Text.Json;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.Journal.Reporting;

namespace RpcShield.Hosting.Cli;

/// <summary>`rpcshield report [--journal F | --postgres "CS"] [--since 7d] [--format text|json] [--config proxy.yaml]`.</summary>
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

        var configured = args.Option("journal") is null && args.Option("postgres") is null ? JournalFromConfig(args, errors) : new JournalOptions();
        if (configured is null)
        {
            return 1;
        }

        var postgres = args.Option("postgres") ?? (args.Option("journal") is null ? configured.Postgres : null);
        if (postgres is not null && !PostgresJournalDatabase.TryParse(postgres, out _, out var invalid))
        {
            errors.WriteLine($"rpcshield report: {(args.Option("postgres") is null ? "journal.postgres" : "--postgres")} {invalid}");
            return 1;
        }

        var until = time.GetUtcNow();
        var report = postgres is not null
            ? ReportBuilder.Build(new PostgresJournalDatabase(postgres), until - window, until)
            : ReportBuilder.Build(args.Option("journal") ?? NonEmpty(configured.Path) ?? "rpcshield.db", until - window, until);
        output.Write(format == "json"
            ? JsonSerializer.Serialize(report, ReportJsonContext.Default.FailureReport) + Environment.NewLine
            : ReportTextRenderer.Render(report));
        return 0;
    }

    /// <summary>
    /// The `journal` section of the config (explicit `--config`, or ./proxy.yaml when present); only that
    /// section is read, so the rest of the file's `${VAR}`s (provider keys) need not be set to run a report.
    /// Null (after printing why) when the section itself is wrong.
    /// </summary>
    private static JournalOptions? JournalFromConfig(CommandLine args, TextWriter errors)
    {
        var path = args.ConfigPath;
        if (!File.Exists(path))
        {
            return new JournalOptions();
        }

        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.WriteLine($"rpcshield report: {path}: cannot read: {ex.Message}");
            return null;
        }

        var journal = YamlBinder.BindSection<JournalOptions>(yaml, "journal", Environment.GetEnvironmentVariable, out var bindErrors);
        foreach (var error in bindErrors)
        {
            errors.WriteLine($"rpcshield report: {path}: {error}");
        }

        return bindErrors.Count == 0 ? journal : null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
