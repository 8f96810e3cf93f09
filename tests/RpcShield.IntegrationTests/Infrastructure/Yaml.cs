namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>Builds small proxy.yaml documents for tests.</summary>
internal static class Yaml
{
    /// <summary>One chain over the given nodes, fast health settings so tests converge quickly; <paramref name="wsUrl"/> gives an upstream its `ws_url`.</summary>
    public static string Chain(IEnumerable<(string Name, string Url)> upstreams, long chainId = 31337, string extraChain = "", string extraRouting = "", string extraTop = "", Func<string, string?>? wsUrl = null)
    {
        var list = string.Join("\n", upstreams.Select(u => wsUrl?.Invoke(u.Name) is { } ws
            ? $"      - {{ name: {u.Name}, url: \"{u.Url}\", ws_url: \"{ws}\" }}"
            : $"      - {{ name: {u.Name}, url: \"{u.Url}\" }}"));
        return $"""
            server: {"{"} listen: http://127.0.0.1:0 {"}"}
            journal: {"{"} path: "" {"}"}
            chains:
              - name: test
                chain_id: {chainId}
                upstreams:
            {list}
            {extraChain}
                routing:
                  health: {"{"} interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2, max_block_lag: 2 {"}"}
                  timeouts: {"{"} default: 10s, per_attempt: 1500ms {"}"}
                  retries: 2
            {extraRouting}
            {extraTop}
            """;
    }
}
