using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Fleet;

/// <summary>
/// A synthetic JSON-RPC node (real HTTP, real wire format) for fleet tests: answers the probes
/// (chain 31337, block 0x10) and counts every request; <c>failing</c> answers everything else with
/// HTTP 503, otherwise with `"0x1"`.
/// </summary>
internal static class FakeNode
{
    public static Task<FakeServer> StartAsync(bool failing, Action? counted = null) => FakeServer.StartAsync(app => app.Run(async context =>
    {
        counted?.Invoke();
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var id = request.RootElement.GetProperty("id").GetRawText();
        var method = request.RootElement.GetProperty("method").GetString();
        context.Response.ContentType = "application/json";
        if (failing && method is not ("eth_chainId" or "eth_blockNumber"))
        {
            context.Response.StatusCode = 503;
            await context.Response.WriteAsync("""{"error":"overloaded"}""");
            return;
        }

        var result = method switch
        {
            "eth_chainId" => "0x7a69",
            "eth_blockNumber" => "0x10",
            _ => "0x1",
        };
        await context.Response.WriteAsync($$"""{"jsonrpc":"2.0","id":{{id}},"result":"{{result}}"}""");
    }));
}
