using System.Diagnostics;

namespace RpcShield.IntegrationTests.Hosting.Cli;

/// <summary>The built RpcShield.dll run as a process, as a user runs it.</summary>
public sealed class CheckConfigProcessTests
{
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "RpcShield.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["SECRET_KEY"] = "sk-live-should-never-print";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task Asking_for_help_prints_usage_and_never_starts_serving(string flag)
    {
        var (exitCode, _, stderr) = await RunAsync(flag);

        Assert.Equal(0, exitCode);
        Assert.Contains("usage: rpcshield", stderr, StringComparison.Ordinal);
        Assert.Contains("check-config", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_prints_every_error_with_its_key_path_and_exits_1()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-cli-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, """
            server: { listen: "http://0.0.0.0:8545" }
            chains:
              - name: mainnet
                chain_id: 1
                upstreams:
                  - { name: a, url: "https://provider.example/${SECRET_KEY}/${MISSING_VAR}", tier: best }
                  - { name: a, url: "http://127.0.0.1:1" }
                routing:
                  health: { interval: soon }
                  retires: 2
            """);
        try
        {
            var (code, stdout, stderr) = await RunAsync("check-config", "--config", path);
            Assert.Equal(1, code);
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string[] expected =
            [
                "chains[0].upstreams[0].url: environment variable MISSING_VAR is not set",
                "chains[0].routing.health.interval: 'soon' is not a duration",
                "chains[0].routing.retires: unknown key",
            ];
            foreach (var error in expected)
            {
                Assert.Contains(lines, l => l.StartsWith($"{path}: {error}", StringComparison.Ordinal));
            }

            Assert.Matches(@"^\d+ error\(s\)$", lines[^1]);
            Assert.DoesNotContain("sk-live-should-never-print", stdout + stderr, StringComparison.Ordinal);

            // Fixing the file makes it pass; run refuses to start on the broken one.
            var (runCode, _, runErrors) = await RunAsync("run", "--config", path);
            Assert.Equal(1, runCode);
            Assert.Contains("refusing to start", runErrors, StringComparison.Ordinal);

            await File.WriteAllTextAsync(path, """
                chains:
                  - name: mainnet
                    chain_id: 1
                    upstreams:
                      - { name: a, url: "http://127.0.0.1:1" }
                """);
            var (okCode, okOut, _) = await RunAsync("check-config", "--config", path);
            Assert.Equal(0, okCode);
            Assert.Contains("OK (1 chain(s), 1 upstream(s))", okOut, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("{a: ", "}")]
    [InlineData("[", "]")]
    public async Task Check_config_reports_a_file_nested_40000_levels_deep_instead_of_aborting(string open, string close)
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-cli-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, "chains: []\nbomb: " + string.Concat(Enumerable.Repeat(open, 40_000)) + "1" + string.Concat(Enumerable.Repeat(close, 40_000)) + "\n");
        try
        {
            var (code, stdout, stderr) = await RunAsync("check-config", "--config", path);
            Assert.Equal(1, code);
            Assert.Contains($"{path}: line 2: nested more than 64 levels deep", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("overflow", stdout + stderr, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_missing_config_file_is_reported_not_thrown()
    {
        var (code, stdout, stderr) = await RunAsync("check-config", "--config", "/nonexistent/proxy.yaml");
        Assert.Equal(1, code);
        Assert.Contains("cannot read", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }
}
