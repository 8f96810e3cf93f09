using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RpcShield.Sandbox;

/// <summary>The sandbox chain: one anvil process on loopback with mining off (the slot producer mines).</summary>
internal sealed partial class AnvilProcess : IAsyncDisposable
{
    private readonly Process _process;

    private AnvilProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public int Port { get; }

    public Uri Url { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<AnvilProcess> StartAsync(string binary, int port, long chainId, CancellationToken cancellationToken)
    {
        // --no-mining: no automine and no interval mining; blocks exist only when the slot producer seals one.
        var arguments = string.Create(CultureInfo.InvariantCulture,
            $"--host 127.0.0.1 --port {port} --chain-id {chainId} --no-mining --no-request-size-limit --accounts 10");
        var info = new ProcessStartInfo(binary, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("anvil did not start");
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                lock (errors)
                {
                    errors.Add(line);
                }
            }
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            "anvil exited during start" + (errors.Count > 0 ? ": " + string.Join(" | ", errors.Take(3)) : "") + $" (is port {port} free?)"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var bound = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            return new AnvilProcess(process, bound);
        }
        catch
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or it did not die within 5 s after SIGKILL: nothing more we can do.
        }
        finally
        {
            _process.Dispose();
        }
    }

    [GeneratedRegex(@"Listening on [0-9.]+:(\d+)")]
    private static partial Regex ListeningLine();
}
