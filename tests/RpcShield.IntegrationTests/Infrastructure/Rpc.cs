using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>Small JSON-RPC client helpers against a <see cref="ProxyUnderTest"/>.</summary>
internal static class Rpc
{
    public sealed record Reply(JsonElement Body, string? Upstream, string? Mode, double Milliseconds)
    {
        public bool IsError => Body.TryGetProperty("error", out _);

        public int ErrorCode => Body.GetProperty("error").GetProperty("code").GetInt32();

        public string ErrorMessage => Body.GetProperty("error").GetProperty("message").GetString()!;

        public JsonElement Result => Body.GetProperty("result");
    }

    public static async Task<Reply> CallAsync(ProxyUnderTest proxy, string method, string paramsJson = "[]", string path = "/")
    {
        var body = $$"""{"jsonrpc":"2.0","id":42,"method":"{{method}}","params":{{paramsJson}}}""";
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var response = await proxy.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new Reply(
            json,
            response.Headers.TryGetValues("X-RpcShield-Upstream", out var upstream) ? upstream.Single() : null,
            response.Headers.TryGetValues("X-RpcShield-Mode", out var mode) ? mode.Single() : null,
            elapsed);
    }

    public static Task<Reply> BalanceAsync(ProxyUnderTest proxy) =>
        CallAsync(proxy, "eth_getBalance", $"[\"{AnvilNode.DevAddress0}\",\"latest\"]");

    /// <summary>Value of one Prometheus sample (0 when absent).</summary>
    public static async Task<double> MetricAsync(ProxyUnderTest proxy, string name, params (string Label, string Value)[] labels)
    {
        var text = await proxy.Client.GetStringAsync("/metrics");
        var total = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                continue;
            }

            if (labels.All(l => line.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15000, Func<Task<string>>? diagnostics = null)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"timed out waiting for {what}" + (diagnostics is null ? "" : "; " + await diagnostics()));
    }
}
