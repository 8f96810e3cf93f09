using System.Diagnostics;
using RpcShield;

namespace RpcShield.IntegrationTests.Hosting.Cli;

/// <summary>
/// The sandbox lives in its own assembly: the proxy carries no devnet code, and `rpcshield
/// sandbox` reaches it through the command-extension seam when RpcShield.Sandbox.dll is beside
/// RpcShield.dll (a source build) and explains itself when it is not (a production publish).
/// </summary>
public sealed class SandboxExtensionTests
{
    [Fact]
    public void The_proxy_assembly_carries_no_sandbox_code()
    {
        var proxy = typeof(RpcShieldHost).Assembly;
        Assert.DoesNotContain(proxy.GetTypes(), t => t.Namespace?.StartsWith("RpcShield.Sandbox", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(proxy.GetReferencedAssemblies(), a => a.Name == "RpcShield.Sandbox");
    }

    [Fact]
    public async Task Check_config_checks_the_sandbox_section_through_the_extension()
    {
        var path = await WriteConfigAsync("slot: 50ms");
        try
        {
            var (code, stdout, _) = await RunAsync(AppContext.BaseDirectory, "check-config", "--config", path);
            Assert.Equal(1, code);
            Assert.Contains("sandbox.slot: must be at least 200ms", stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Without_the_sandbox_assembly_the_verb_explains_itself_and_the_proxy_still_checks_its_config()
    {
        var build = Directory.CreateTempSubdirectory("rpcshield-publish-");
        var path = await WriteConfigAsync("slot: 2s");
        try
        {
            foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory).Where(f => !Path.GetFileName(f).StartsWith("RpcShield.Sandbox", StringComparison.Ordinal)))
            {
                File.Copy(file, Path.Combine(build.FullName, Path.GetFileName(file)));
            }

            var (code, _, stderr) = await RunAsync(build.FullName, "sandbox", "--config", path);
            Assert.Equal(1, code);
            Assert.Contains("`sandbox` is not part of this build", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);

            var (checkCode, stdout, _) = await RunAsync(build.FullName, "check-config", "--config", path);
            Assert.Equal(0, checkCode);
            Assert.Contains("OK (1 chain(s)", stdout, StringComparison.Ordinal);
        }
        finally
        {
            build.Delete(recursive: true);
            File.Delete(path);
        }
    }

    private static async Task<string> WriteConfigAsync(string slot)
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-sandbox-cli-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, $$"""
            chains:
              - name: devnet   # `sandbox` is a reserved path (the control API)
                chain_id: 31337
                upstreams:
                  - { name: node-a, url: "http://127.0.0.1:18545" }
            sandbox:
              {{slot}}
              anvil_port: 18500
              nodes:
                - { name: node-a, port: 18545 }
            """);
        return path;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string directory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(directory, "RpcShield.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
