using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.Caching;

/// <summary>Raw JSON-RPC posts that also return the `X-RpcShield-Cache` header.</summary>
internal static class CacheClient
{
    public sealed record Answer(JsonElement Body, string? Cache, string? Upstream)
    {
        public JsonElement Result => Body.GetProperty("result");
    }

    public static Task<Answer> CallAsync(ProxyUnderTest proxy, string method, string paramsJson = "[]", string id = "7", string? cacheControl = null, string path = "/") =>
        PostAsync(proxy.Client, $$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}","params":{{paramsJson}}}""", cacheControl, path);

    public static async Task<Answer> PostAsync(HttpClient client, string body, string? cacheControl = null, string path = "/", string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        if (bearer is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bearer);
        }

        using var response = await client.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new Answer(
            json,
            response.Headers.TryGetValues("X-RpcShield-Cache", out var cache) ? string.Join(",", cache) : null,
            response.Headers.TryGetValues("X-RpcShield-Upstream", out var upstream) ? string.Join(",", upstream) : null);
    }

    /// <summary>proxy.yaml with one upstream (optionally with a ws_url) and extra top-level / chain keys.</summary>
    public static string Yaml(string url, string? wsUrl = null, string cache = "", string chainCache = "", string server = "")
    {
        var ws = wsUrl is null ? "" : $", ws_url: \"{wsUrl}\"";
        return $"""
            server: {"{"} listen: http://127.0.0.1:0{server} {"}"}
            journal: {"{"} path: "" {"}"}
            {cache}
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - {"{"} name: node, url: "{url}"{ws} {"}"}
                routing:
                  health: {"{"} interval: 200ms, timeout: 1s, fail_after: 3, recover_after: 2, max_block_lag: 2 {"}"}
                  timeouts: {"{"} default: 10s, per_attempt: 5s {"}"}
                  consistency: {"{"} head_poll: 50ms {"}"}
            {chainCache}
            """;
    }
}
