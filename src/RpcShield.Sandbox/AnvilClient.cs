using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RpcShield.Sandbox;

/// <summary>Minimal JSON-RPC client for the sandbox's own calls to anvil (mining, coinbase, inclusion).</summary>
internal sealed class AnvilClient(HttpClient http, Uri url)
{
    private long _id;

    public Uri Url { get; } = url;

    /// <summary>Calls a method; returns the result or throws <see cref="AnvilRpcException"/> with the node's error message.</summary>
    public async Task<JsonElement> CallAsync(string method, string paramsJson, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _id);
        var body = $$"""{"jsonrpc":"2.0","id":{{id.ToString(CultureInfo.InvariantCulture)}},"method":"{{method}}","params":{{paramsJson}}}""";
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(Url, content, cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(bytes);
        if (document.RootElement.TryGetProperty("error", out var error))
        {
            var message = error.TryGetProperty("message", out var m) ? m.GetString() ?? "error" : error.GetRawText();
            throw new AnvilRpcException(method, message);
        }

        return document.RootElement.GetProperty("result").Clone();
    }

    public async Task<long> BlockNumberAsync(CancellationToken cancellationToken) =>
        JsonRpc.HexQuantity.Parse((await CallAsync("eth_blockNumber", "[]", cancellationToken).ConfigureAwait(false)).GetString());

}

internal sealed class AnvilRpcException(string method, string message) : Exception($"{method}: {message}")
{
    public string NodeMessage { get; } = message;
}
