namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>proxy.yaml for resilience tests: upstreams with tiers, fast health checks, extra routing/degradation keys.</summary>
internal static class ResilienceYaml
{
    public static string Chain(IEnumerable<(string Name, string Url, string Tier)> upstreams, string routing = "", string degradation = "", string health = "{ interval: 200ms, timeout: 1s, fail_after: 3, recover_after: 2, max_block_lag: 2 }")
    {
        var list = string.Join("\n", upstreams.Select(u => $"      - {{ name: {u.Name}, url: \"{u.Url}\", tier: {u.Tier} }}"));
        var routingLines = string.Join("\n", routing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "      " + l.Trim()));
        var degradationLine = degradation.Length == 0 ? "" : "    degradation: " + degradation;
        return $"""
            server: {"{"} listen: http://127.0.0.1:0 {"}"}
            journal: {"{"} path: "" {"}"}
            chains:
              - name: test
                chain_id: 31337
                upstreams:
            {list}
                routing:
                  health: {health}
                  timeouts: {"{"} default: 10s, per_attempt: 2s {"}"}
                  retries: 2
            {routingLines}
            {degradationLine}
            """;
    }
}
