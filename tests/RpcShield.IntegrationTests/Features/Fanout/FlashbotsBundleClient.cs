using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RpcShield.Features.Signing;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>
/// A client shaped like `@flashbots/ethers-provider-bundle`'s FlashbotsBundleProvider: every relay
/// call is `{"method","params","id":42,"jsonrpc":"2.0"}` signed with the searcher's auth key in
/// `X-Flashbots-Signature`; the block number comes from the generic provider (here RpcShield itself);
/// errors surface as the JSON-RPC error's message only.
/// </summary>
internal sealed class FlashbotsBundleClient(HttpClient relay, string authKey)
{
    private readonly FlashbotsSigner _auth = new(authKey);

    public async Task<long> GetBlockNumberAsync()
    {
        var result = await RequestAsync("eth_blockNumber", "[]");
        return Convert.ToInt64(result.GetString(), 16);
    }

    /// <summary>`simulate(signedBundle, blockTag, stateBlockTag)` → eth_callBundle.</summary>
    public Task<JsonElement> SimulateAsync(IEnumerable<string> signedTxs, long block) =>
        RequestAsync("eth_callBundle", $$"""[{"txs":[{{string.Join(',', signedTxs.Select(t => $"\"{t}\""))}}],"blockNumber":"0x{{block:x}}","stateBlockNumber":"latest"}]""");

    /// <summary>`sendRawBundle(signedTxs, targetBlock)` → eth_sendBundle; the library reads `result.bundleHash`.</summary>
    public async Task<string> SendRawBundleAsync(IEnumerable<string> signedTxs, long targetBlock) =>
        (await RequestAsync("eth_sendBundle", $$"""[{"txs":[{{string.Join(',', signedTxs.Select(t => $"\"{t}\""))}}],"blockNumber":"0x{{targetBlock:x}}","revertingTxHashes":[]}]""")).GetProperty("bundleHash").GetString()!;

    public Task<JsonElement> GetBundleStatsV2Async(string bundleHash, long block) =>
        RequestAsync("flashbots_getBundleStatsV2", $$"""[{"bundleHash":"{{bundleHash}}","blockNumber":"0x{{block:x}}"}]""");

    public Task<JsonElement> GetUserStatsV2Async(long block) =>
        RequestAsync("flashbots_getUserStatsV2", $$"""[{"blockNumber":"0x{{block:x}}"}]""");

    private async Task<JsonElement> RequestAsync(string method, string paramsJson)
    {
        var body = $$"""{"method":"{{method}}","params":{{paramsJson}},"id":42,"jsonrpc":"2.0"}""";
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add(FlashbotsSigner.HeaderName, _auth.Sign(bytes));
        using var response = await relay.SendAsync(request);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (json.TryGetProperty("error", out var error))
        {
            throw new RelayErrorException(error.GetProperty("message").GetString()!);
        }

        return json.GetProperty("result").Clone();
    }
}

/// <summary>What the library shows the user: the message alone.</summary>
internal sealed class RelayErrorException(string message) : Exception(message);
