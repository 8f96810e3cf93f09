using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Conformance;

/// <summary>
/// A node that answers every recorded request with its recorded response (same result or error),
/// echoing the id it received, and answers RpcShield's health probes with fixed values.
/// </summary>
internal sealed class ReplayUpstream : IAsyncDisposable
{
    public const string ChainIdHex = "0xc72dd9d5e883e";
    public const string HeadHex = "0x36";

    private readonly FakeServer _server;
    private int _unmatched;

    private ReplayUpstream(FakeServer server) => _server = server;

    public string Url => _server.Url;

    /// <summary>Requests that matched no recording (would make the comparison meaningless).</summary>
    public int Unmatched => Volatile.Read(ref _unmatched);

    public static long ChainId => Convert.ToInt64(ChainIdHex, 16);

    public static async Task<ReplayUpstream> StartAsync(IReadOnlyList<Exchange> exchanges)
    {
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var exchange in exchanges)
        {
            recorded.TryAdd(exchange.Key, exchange.Response);
        }

        ReplayUpstream? self = null;
        var server = await FakeServer.StartAsync(app => app.MapPost("/", async context =>
        {
            var request = await JsonNode.ParseAsync(context.Request.Body);
            JsonNode? answer = request is JsonArray batch
                ? new JsonArray(batch.Select(item => Answer(item!)).ToArray())
                : Answer(request!);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer!.ToJsonString());
        }));
        self = new ReplayUpstream(server);
        return self;

        JsonNode Answer(JsonNode item)
        {
            var method = item["method"]!.GetValue<string>();
            var id = item["id"]?.DeepClone();
            JsonNode response;
            if (recorded.TryGetValue(ConformanceCorpus.Key(method, item["params"]), out var text))
            {
                response = JsonNode.Parse(text)!;
            }
            else if (method is "eth_chainId" or "eth_blockNumber")
            {
                response = new JsonObject { ["jsonrpc"] = "2.0", ["result"] = method == "eth_chainId" ? ChainIdHex : HeadHex };
            }
            else if (id?.GetValueKind() == System.Text.Json.JsonValueKind.String && id.GetValue<string>() == "rpcshield-probe")
            {
                // RpcShield's own head poll (eth_getBlockByNumber "latest"), not a client's exchange.
                response = new JsonObject { ["jsonrpc"] = "2.0", ["result"] = null };
            }
            else
            {
                Interlocked.Increment(ref self!._unmatched);
                response = new JsonObject { ["jsonrpc"] = "2.0", ["error"] = new JsonObject { ["code"] = -32000, ["message"] = "replay: no recording" } };
            }

            response["id"] = id;
            return response;
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
