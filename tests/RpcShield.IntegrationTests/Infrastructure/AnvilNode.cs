using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>A real anvil process on an ephemeral loopback port, which tests can kill, pause and mine on.</summary>
internal sealed partial class AnvilNode : IAsyncDisposable
{
    /// <summary>anvil's first dev account and its key (well known, test only).</summary>
    public const string DevKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    public const string DevAddress0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Process _process;
    private int _id;

    private AnvilNode(Process process, int port)
    {
        _process = process;
        Port = port;
        Url = $"http://127.0.0.1:{port}";
    }

    public int Port { get; }

    public string Url { get; }

    public string WsUrl => $"ws://127.0.0.1:{Port}";

    public int ProcessId => _process.Id;

    public bool IsRunning => !_process.HasExited;

    public static async Task<AnvilNode> StartAsync(long chainId = 31337, int? blockTimeSeconds = null, int? port = null, string? extraArgs = null)
    {
        var args = $"--host 127.0.0.1 --port {port ?? 0} --chain-id {chainId} --no-request-size-limit";
        if (blockTimeSeconds is { } blockTime)
        {
            args += $" --block-time {blockTime}";
        }

        if (extraArgs is not null)
        {
            args += " " + extraArgs;
        }

        var info = new ProcessStartInfo(Tools.Anvil, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("anvil did not start");
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var winner = await Task.WhenAny(listening.Task, Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
        if (winner != listening.Task)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("anvil did not report its port within 30 s");
        }

        return new AnvilNode(process, await listening.Task.ConfigureAwait(false));
    }

    public async Task<JsonElement> CallAsync(string method, params object[] parameters)
    {
        var request = new { jsonrpc = "2.0", id = Interlocked.Increment(ref _id), method, @params = parameters };
        using var response = await Http.PostAsJsonAsync(Url, request).ConfigureAwait(false);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false);
        if (json.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"anvil {method}: {error}");
        }

        return json.GetProperty("result");
    }

    public async Task<long> BlockNumberAsync() => Convert.ToInt64((await CallAsync("eth_blockNumber").ConfigureAwait(false)).GetString(), 16);

    public Task MineAsync(int blocks) => CallAsync("anvil_mine", $"0x{blocks:x}");

    /// <summary>SIGSTOP: the process keeps its socket but answers nothing (a stalled node).</summary>
    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {_process.Id}");
        kill.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Resume();
            Kill();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"Listening on [0-9.]+:(\d+)")]
    private static partial Regex ListeningLine();
}
