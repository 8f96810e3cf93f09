using RpcShield.Chaos.Experiments;
using RpcShield.Cli;

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
}
