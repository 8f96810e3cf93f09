using RpcShield.Configuration;

namespace RpcShield.Tests.Routing.Degradation;

public sealed class ResilienceConfigTests
{
    private static string Yaml(string routing, string degradation) => $$"""
        chains:
          - name: main
            chain_id: 1
            upstreams:
              - { name: a, url: "http://127.0.0.1:8545" }
            routing:
              {{routing}}
            degradation: {{degradation}}
        """;

    [Fact]
    public void New_keys_bind()
    {
        var result = ConfigLoader.LoadText(Yaml("hedge: { cold_start: 40ms }", "{ degraded_above_failure_rate: 0.3, minimal_above_failure_rate: 0.8, failure_min_requests: 5 }"));
        Assert.Empty(result.Errors);
        var chain = result.Options!.Chains[0];
        Assert.Equal(TimeSpan.FromMilliseconds(40), chain.Routing.Hedge.ColdStart);
        Assert.Equal(0.3, chain.Degradation.DegradedAboveFailureRate);
        Assert.Equal(0.8, chain.Degradation.MinimalAboveFailureRate);
        Assert.Equal(5, chain.Degradation.FailureMinRequests);
    }

    [Fact]
    public void Inverted_failure_rates_and_zero_min_requests_are_errors_with_their_key_path()
    {
        var result = ConfigLoader.LoadText(Yaml("hedge: { cold_start: 40ms }", "{ degraded_above_failure_rate: 0.9, minimal_above_failure_rate: 0.5, failure_min_requests: 0 }"));
        Assert.Contains(result.Errors, e => e.Path == "chains[0].degradation");
        Assert.Contains(result.Errors, e => e.Path == "chains[0].degradation.failure_min_requests");
    }
}
