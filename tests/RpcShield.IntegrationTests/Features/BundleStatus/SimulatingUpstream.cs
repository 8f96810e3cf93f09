using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// A chain upstream that serves the simulation methods an anvil node lacks (`eth_callBundle` in the
/// Flashbots shape, or any answer a test scripts) and passes every other request through to a real
/// anvil node unchanged, so heads, blocks and nonces are real. Records every method it is asked.
/// </summary>
internal sealed class SimulatingUpstream : IAsyncDisposable
{
    /// <summary>A Flashbots-style revert reason: Error(string) "no profit".</summary>
    public const string RevertData = "0x08c379a00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000a6e6f2070726f66697400000000000000000000000000000000000000000000";

    private readonly FakeServer _server;
    private readonly HttpClient _anvil;

    private SimulatingUpstream(FakeServer server, HttpClient anvil)
    {
        _server = server;
        _anvil = anvil;
    }

    public string Url => _server.Url;

    /// <summary>Methods asked, in order (passed-through ones too).</summary>
    public ConcurrentQueue<string> Methods { get; } = new();

    /// <summary>Scripted answers by method: given the request's id (raw JSON) and params, the whole response body.</summary>
    public ConcurrentDictionary<string, Func<string, JsonElement, string>> Answers { get; } = new();

    public int Asked(string method) => Methods.Count(m => m == method);

    public static async Task<SimulatingUpstream> StartAsync(string anvilUrl)
    {
        SimulatingUpstream? self = null;
        var anvil = new HttpClient { BaseAddress = new Uri(anvilUrl), Timeout = TimeSpan.FromSeconds(10) };
        var server = await FakeServer.StartAsync(app => app.MapPost("/", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            context.Response.ContentType = "application/json";
            if (self!.Scripted(body) is { } answer)
            {
                await context.Response.WriteAsync(answer);
                return;
            }

            using var forwarded = await self._anvil.PostAsync("/", new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });
            context.Response.StatusCode = (int)forwarded.StatusCode;
            await context.Response.Body.WriteAsync(await forwarded.Content.ReadAsByteArrayAsync());
        }));
        self = new SimulatingUpstream(server, anvil);
        return self;
    }

    /// <summary>A Flashbots `eth_callBundle` result for the bundle in <paramref name="parameters"/>: every transaction succeeds but those at the indexes <paramref name="revertAt"/>.</summary>
    public static string CallBundleAnswer(string id, JsonElement parameters, params int[] revertAt)
    {
        var txs = parameters[0].GetProperty("txs").EnumerateArray().Select(t => t.GetString()!).ToList();
        var results = txs.Select((raw, i) =>
            $$"""{"coinbaseDiff":"21000000000000","ethSentToCoinbase":"0","fromAddress":"{{AnvilNode.DevAddress0}}","gasFees":"21000000000000","gasPrice":"1000000000","gasUsed":21000,"toAddress":"{{BundleStatusSetup.Recipient}}","txHash":"{{TxHash(raw)}}",{{(revertAt.Contains(i) ? $"\"error\":\"execution reverted\",\"revert\":\"{RevertData}\"" : "\"value\":\"0x\"")}}}""");
        return Result(id, $$"""{"bundleGasPrice":"1000000000","bundleHash":"0x1111111111111111111111111111111111111111111111111111111111111111","coinbaseDiff":"21000000000000","ethSentToCoinbase":"0","gasFees":"21000000000000","results":[{{string.Join(',', results)}}],"stateBlockNumber":1,"totalGasUsed":21000}""");
    }

    public static string Result(string id, string resultJson) => $$"""{"jsonrpc":"2.0","id":{{id}},"result":{{resultJson}}}""";

    public static string MethodNotFound(string id, string method) => $$$"""{"jsonrpc":"2.0","id":{{{id}}},"error":{"code":-32601,"message":"Method not found: {{{method}}}"}}""";

    public static string TxHash(string raw) => "0x" + Convert.ToHexStringLower(RpcShield.Features.Signing.FlashbotsSigner.Keccak(Convert.FromHexString(raw.AsSpan(2))));

    private string? Scripted(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("method", out var m) && m.GetString() is { } method)
            {
                Methods.Enqueue(method);
                if (Answers.TryGetValue(method, out var answer))
                {
                    return answer(root.GetProperty("id").GetRawText(), root.TryGetProperty("params", out var p) ? p.Clone() : default);
                }
            }
            else if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in root.EnumerateArray())
                {
                    Methods.Enqueue(item.TryGetProperty("method", out var im) ? im.GetString() ?? "?" : "?");
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _anvil.Dispose();
    }
}
