using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace RpcShield.DemoBot;

/// <summary>A JSON-RPC answer plus the RpcShield headers that explain it.</summary>
internal sealed record RpcAnswer(JsonElement? Result, string? Error, string? Upstream, string? Builders, TimeSpan Elapsed)
{
    public bool Ok => Error is null;

    /// <summary>The error's `data` (e.g. `bundleHash` of a refused bundle), when there is one.</summary>
    public JsonElement? ErrorData { get; init; }
}

/// <summary>Plain HttpClient JSON-RPC client pointed at RpcShield (what any bot does with its RPC URL).</summary>
internal sealed class RpcClient(HttpClient http, Uri url)
{
    private long _id;

    public Uri Url { get; } = url;

    public async Task<RpcAnswer> CallAsync(string method, string paramsJson, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _id).ToString(CultureInfo.InvariantCulture);
        var body = $$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}","params":{{paramsJson}}}""";
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(Url, content, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var upstream = Header(response, "X-RpcShield-Upstream");
            var builders = Header(response, "X-RpcShield-Builders");
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.TryGetProperty("error", out var error))
            {
                var message = error.TryGetProperty("message", out var m) ? m.GetString() : error.GetRawText();
                return new RpcAnswer(null, message ?? "error", upstream, builders, elapsed)
                {
                    ErrorData = error.TryGetProperty("data", out var data) ? data.Clone() : null,
                };
            }

            return new RpcAnswer(document.RootElement.GetProperty("result").Clone(), null, upstream, builders, elapsed);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new RpcAnswer(null, ex.GetType().Name + ": " + ex.Message, null, null, Stopwatch.GetElapsedTime(started));
        }
    }

    public async Task<JsonElement> ResultAsync(string method, string paramsJson, CancellationToken cancellationToken)
    {
        var answer = await CallAsync(method, paramsJson, cancellationToken).ConfigureAwait(false);
        return answer.Result ?? throw new InvalidOperationException($"{method} failed: {answer.Error}");
    }

    public static BigInteger Quantity(JsonElement element) =>
        BigInteger.Parse("0" + element.GetString()![2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    public static string Hex(BigInteger value)
    {
        var digits = value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0');
        return "0x" + (digits.Length == 0 ? "0" : digits);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
