using System.Diagnostics;

namespace RpcShield.Bench;

/// <summary>
/// A <see cref="StaticUpstream"/> in its own process, like a real node: the proxy does not share
/// its thread pool or GC with the upstream, and this process's CPU and allocations are the proxy's.
/// </summary>
internal sealed class UpstreamProcess : IAsyncDisposable
{
    public const string ListeningPrefix = BenchChildProcess.ListeningPrefix;
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
        var (process, url) = await BenchChildProcess.StartAsync("--serve-upstream", "--fail-every", failEvery.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return new UpstreamProcess(process, url);
    }

    public async ValueTask DisposeAsync() => await BenchChildProcess.StopAsync(_process).ConfigureAwait(false);
}
