using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Chaos;

internal static class ChaosHttp
{
    public const string AdminToken = "adm-secret-token";

    public static string ChaosTop(bool enabled = true, bool allowHeader = true, string rules = "[]", string maxLatency = "600ms") => $$"""
        admin: { token: "{{AdminToken}}" }
        chaos:
          enabled: {{(enabled ? "true" : "false")}}
          allow_header: {{(allowHeader ? "true" : "false")}}
          max_latency: {{maxLatency}}
          rules: {{rules}}
        """;

    /// <summary>Three nodes with `a` the only primary: it is always tried first while healthy (injected failures never change that).</summary>
    public static string PrimaryAndFallbacks(string a, string b, string c, string extraTop) =>
        Yaml.Chain([("a", a), ("b", b), ("c", c)], extraTop: extraTop)
            .Replace($"{{ name: b, url: \"{b}\" }}", $"{{ name: b, url: \"{b}\", tier: fallback }}", StringComparison.Ordinal)
            .Replace($"{{ name: c, url: \"{c}\" }}", $"{{ name: c, url: \"{c}\", tier: fallback }}", StringComparison.Ordinal);

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static async Task<(HttpResponseMessage Response, JsonElement Body, TimeSpan Elapsed)> CallAsync(ProxyUnderTest proxy, string method, string @params = "[]", string? chaosHeader = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = Json($$"""{"jsonrpc":"2.0","id":42,"method":"{{method}}","params":{{@params}}}""") };
        if (chaosHeader is not null)
        {
            request.Headers.Add("X-RpcShield-Chaos", chaosHeader);
        }

        var watch = Stopwatch.StartNew();
        var response = await proxy.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        watch.Stop();
        return (response, JsonDocument.Parse(text).RootElement.Clone(), watch.Elapsed);
    }

    public static async Task<HttpResponseMessage> AdminAsync(ProxyUnderTest proxy, HttpMethod method, string path, string? body = null, string? token = AdminToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = Json(body);
        }

        return await proxy.Client.SendAsync(request);
    }

    public static async Task<double> InjectionsAsync(ProxyUnderTest proxy, string rule)
    {
        var text = await proxy.Client.GetStringAsync("/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith("rpcshield_chaos_injections_total{", StringComparison.Ordinal) && l.Contains($"rule=\"{rule}\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture));
    }

    public static async Task<string> TopRankedAsync(ProxyUnderTest proxy)
    {
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        return status.GetProperty("chains")[0].GetProperty("ranking")[0].GetString()!;
    }
}
