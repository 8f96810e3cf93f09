using System.Diagnostics;

namespace RpcShield.Bench;

/// <summary>
/// A <see cref="StaticUpstream"/> in its own process, like a real node: the proxy does not share
/// its thread pool or GC with the upstream, and this process's CPU and allocations are the proxy's.
/// </summary>
internal sealed class UpstreamProcess : IAsyncDisposable
{
    public const string ListeningPrefix = "LISTENING ";
    private readonly Process _process;

    private UpstreamProcess(Process process, string url)
    {
        _process = process;
        Url = url;
        Port = new Uri(url).Port;
    }

    public string Url { get; }

    public int Port { get; }

    public static async Task<UpstreamProcess> StartAsync(int failEvery)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // The bench assembly itself, in its `--serve-upstream` mode (works from the bench and from tests).
        info.ArgumentList.Add(typeof(UpstreamProcess).Assembly.Location);
        info.ArgumentList.Add("--serve-upstream");
        info.ArgumentList.Add("--fail-every");
        info.ArgumentList.Add(failEvery.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the upstream process");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                return new UpstreamProcess(process, line[ListeningPrefix.Length..].Trim());
            }
        }

        process.Kill();
        throw new InvalidOperationException("the upstream process exited before listening");
    }

    public async ValueTask DisposeAsync()
    {
        // Closing stdin asks it to stop; kill it if it does not.
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
