using RpcShield.Chaos.Experiments;

namespace RpcShield.Tests.Chaos;

public sealed class ExperimentLoaderTests
{
    private static string? Env(string name) => name == "RPCSHIELD_ADMIN_TOKEN" ? "t0ken" : null;

    public static TheoryData<string> Examples() =>
        [.. Directory.GetFiles(Path.Combine(SharedPaths.RepositoryRoot, "deploy", "experiments"), "*.yaml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Examples))]
    public void Shipped_examples_load_without_errors(string file)
    {
        var options = ExperimentLoader.Load(File.ReadAllText(Path.Combine(SharedPaths.RepositoryRoot, "deploy", "experiments", file)), Env, out var errors);
        Assert.Empty(errors);
        Assert.Equal("t0ken", options.AdminToken);
        Assert.NotEmpty(options.Faults);
    }

    [Fact]
    public void Faults_outside_the_blast_radius_and_unknown_keys_are_errors()
    {
        const string yaml = """
            target: http://127.0.0.1:8545
            admin_token: x
            blast_radius: { targets: [a] }
            faults:
              - { name: f, scope: upstream, targets: [b], fault: http_500 }
            typo_key: 1
            """;
        ExperimentLoader.Load(yaml, Env, out var errors);
        Assert.Contains(errors, e => e.Contains("outside the blast radius", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("typo_key", StringComparison.Ordinal));
    }

    [Fact]
    public void Confine_fills_in_the_radius_and_caps_the_rate()
    {
        var fault = new RpcShield.Configuration.ChaosRuleOptions { Name = "f", Scope = "upstream", Fault = "http_500", Rate = 1.0 };
        var confined = ExperimentLoader.Confine(fault, new BlastRadiusOptions { Targets = ["a"], MaxRate = 0.3 });
        Assert.Equal(["a"], confined.Targets);
        Assert.Equal(0.3, confined.Rate);

        // Client-scope faults have no targets: the radius' targets are not forced on them.
        var client = ExperimentLoader.Confine(new RpcShield.Configuration.ChaosRuleOptions { Name = "c", Scope = "client", Fault = "http_500" }, new BlastRadiusOptions { Targets = ["a"] });
        Assert.Empty(client.Targets);
    }
}
