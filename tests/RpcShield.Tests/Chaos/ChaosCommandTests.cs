using RpcShield.Chaos.Experiments;
using RpcShield.Hosting.Cli;

namespace RpcShield.Tests.Chaos;

public sealed class ChaosCommandTests
{
    [Fact]
    public async Task Usage_and_config_errors_exit_2_with_every_error_listed()
    {
        var log = new StringWriter();
        Assert.Equal(2, await ChaosCommand.RunAsync(new CommandLine(["chaos"]), TextWriter.Null, log));
        Assert.Contains("usage: rpcshield chaos run", log.ToString(), StringComparison.Ordinal);

        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-exp-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, "target: ftp://nowhere\nfaults: []\n");
        try
        {
            var errors = new StringWriter();
            Assert.Equal(2, await ChaosCommand.RunAsync(new CommandLine(["chaos", "run", path]), TextWriter.Null, errors));
            Assert.Contains("target: must be an http(s) URL", errors.ToString(), StringComparison.Ordinal);
            Assert.Contains("faults: at least one fault is required", errors.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task An_unreachable_proxy_stops_the_experiment_with_exit_2()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-exp-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, """
            target: http://127.0.0.1:1
            admin_token: t
            phases: { baseline: 100ms, chaos: 100ms, recovery: 100ms }
            faults:
              - { name: f, scope: client, fault: http_500 }
            """);
        try
        {
            var log = new StringWriter();
            Assert.Equal(2, await ChaosCommand.RunAsync(new CommandLine(["chaos", "run", path]), TextWriter.Null, log));
            Assert.Contains("stopped", log.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
