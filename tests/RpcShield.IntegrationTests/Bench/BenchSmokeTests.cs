using RpcShield.Bench;

namespace RpcShield.IntegrationTests.Bench;

/// <summary>
/// The bench tool in smoke mode (1 s, built-in load): proves every scenario runs end to end and
/// the proxy answers without errors. Timing figures are reported by the tool, never asserted.
/// </summary>
public sealed class BenchSmokeTests
{
    [Theory]
    [InlineData("single")]
    [InlineData("batch10")]
    [InlineData("large")]
    [InlineData("failover")]
    public async Task Scenario_runs_through_the_proxy_without_errors(string name)
    {
        var scenario = Scenario.All.Single(s => s.Name == name);

        var result = await ScenarioRunner.RunAsync(scenario, new BuiltInLoad(), connections: 4, TimeSpan.FromSeconds(1), withHops: false, TextWriter.Null);

        Assert.True(result.Direct.Requests > 0);
        Assert.True(result.Through.Requests > 0);
        Assert.Equal(0, result.Through.Errors);
    }
}
