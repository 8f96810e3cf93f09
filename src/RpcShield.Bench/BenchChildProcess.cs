using System.Diagnostics;

namespace RpcShield.Bench;

/// <summary>
/// The bench assembly started again in one of its serving modes (`--serve-upstream`,
/// `--serve-builders`), so what it serves does not share the proxy's thread pool or GC: started
/// until it prints its `LISTENING …` line, stopped by closing its stdin.
/// </summary>
internal static class BenchChildProcess
{
    public const string ListeningPrefix = "LISTENING ";

    /// <summary>Starts the bench with <paramref name="arguments"/>; returns the process and what followed `LISTENING `.</summary>
    public static async Task<(Process Process, string Listening)> StartAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        // The bench assembly itself (works from the bench and from tests).
        info.ArgumentList.Add(typeof(BenchChildProcess).Assembly.Location);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start the {arguments[0]} process");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                return (process, line[ListeningPrefix.Length..].Trim());
            }
        }

        process.Kill();
        throw new InvalidOperationException($"the {arguments[0]} process exited before listening");
    }

    /// <summary>Closing stdin asks it to stop; killed if it does not within 5 s.</summary>
    public static async Task StopAsync(Process process)
    {
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
    }
}
