using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>
/// A synthetic JSON-RPC node (real HTTP, real wire format) with a fixed head, for cache tests that
/// need many final blocks or must count what reaches the node: answers eth_chainId, eth_blockNumber,
/// eth_getBlockByNumber (any number below the head, `latest`, `finalized`), eth_getBalance, eth_call
/// (after <see cref="CallDelay"/>) and eth_sendRawTransaction; single requests and batches.
/// </summary>
internal sealed class SyntheticChain : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private FakeServer _server = null!;

    public long Head { get; set; } = 0x1000;

    /// <summary>`finalized` answers this block (-1: the tag is answered with an error).</summary>
    public long Finalized { get; set; } = 0x1000 - 64;

    /// <summary>Bytes of `extraData` padding per block at or above this number (oversize answers).</summary>
    public long BigFrom { get; set; } = long.MaxValue;

    public int BigBytes { get; set; } = 200_000;

    /// <summary>Padding of every block (to fill a cache quickly).</summary>
    public int Padding { get; set; }

    public TimeSpan CallDelay { get; set; }

    /// <summary>eth_call fails at the transport (HTTP 503, after <see cref="CallDelay"/>): what a failing node's attempt looks like.</summary>
    public bool FailCalls { get; set; }

    public string Url => _server.Url;

    public static async Task<SyntheticChain> StartAsync()
    {
        var chain = new SyntheticChain();
        chain._server = await FakeServer.StartAsync(app => app.MapPost("/", chain.HandleAsync));
        return chain;
    }

    /// <summary>Requests that reached the node for <paramref name="method"/> (with <paramref name="firstParam"/>, when given).</summary>
    public int Count(string method, string? firstParam = null) =>
        firstParam is null
            ? _counts.Where(c => c.Key == method || c.Key.StartsWith(method + " ", StringComparison.Ordinal)).Sum(c => c.Value)
            : _counts.GetValueOrDefault(method + " " + firstParam);

    private async Task HandleAsync(HttpContext context)
    {
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        if (FailCalls && request.RootElement.ValueKind == JsonValueKind.Object && request.RootElement.GetProperty("method").GetString() == "eth_call")
        {
            _counts.AddOrUpdate("eth_call", 1, (_, n) => n + 1);
            await Task.Delay(CallDelay);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        var output = new StringBuilder();
        if (request.RootElement.ValueKind == JsonValueKind.Array)
        {
            output.Append('[');
            var first = true;
            foreach (var item in request.RootElement.EnumerateArray())
            {
                output.Append(first ? "" : ",").Append(await AnswerAsync(item));
                first = false;
            }

            output.Append(']');
        }
        else
        {
            output.Append(await AnswerAsync(request.RootElement));
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(output.ToString());
    }

    private async Task<string> AnswerAsync(JsonElement item)
    {
        var id = item.GetProperty("id").GetRawText();
        var method = item.GetProperty("method").GetString()!;
        var parameters = item.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array ? p : default;
        var first = parameters.ValueKind == JsonValueKind.Array && parameters.GetArrayLength() > 0 ? parameters[0].ToString() : null;
        _counts.AddOrUpdate(first is null ? method : method + " " + first, 1, (_, n) => n + 1);
        string Result(string json) => $$"""{"jsonrpc":"2.0","id":{{id}},"result":{{json}}}""";
        switch (method)
        {
            case "eth_chainId":
                return Result("\"0x7a69\"");
            case "net_version":
                return Result("\"31337\"");
            case "eth_blockNumber":
                return Result(Quoted(Head));
            case "eth_getBalance":
                return Result(Quoted(1_000 + Head));
            case "eth_call":
                if (CallDelay > TimeSpan.Zero)
                {
                    await Task.Delay(CallDelay);
                }

                return Result("\"0x01\"");
            case "eth_sendRawTransaction":
                return Result("\"0x" + new string('a', 64) + "\"");
            case "eth_getBlockByNumber":
                var tag = first ?? "latest";
                var number = tag switch
                {
                    "latest" or "pending" => Head,
                    "finalized" => Finalized,
                    _ => long.Parse(tag.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                };
                if (number < 0)
                {
                    return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":{\"code\":-32000,\"message\":\"finalized block not found\"}}";
                }

                return Result(number > Head ? "null" : Block(number));
            default:
                return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":{\"code\":-32601,\"message\":\"method not found\"}}";
        }
    }

    private string Block(long number)
    {
        var padding = number >= BigFrom ? BigBytes : Padding;
        return $$"""{"number":{{Quoted(number)}},"hash":"{{Hash(number)}}","parentHash":"{{Hash(number - 1)}}","extraData":"0x{{new string('0', padding * 2)}}","transactions":[]}""";
    }

    public static string Hash(long number) => "0x" + number.ToString("x64", CultureInfo.InvariantCulture);

    private static string Quoted(long value) => "\"0x" + value.ToString("x", CultureInfo.InvariantCulture) + "\"";

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
