using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Conformance;

/// <summary>A callTracer result of a 1024-deep call stack nests far deeper than any client request may.</summary>
public sealed class DeepResultTests
{
    [Fact]
    public async Task A_deeply_nested_trace_result_passes_through_byte_for_byte()
    {
        var trace = string.Concat(Enumerable.Repeat("{\"type\":\"CALL\",\"calls\":[", 1100)) + "{}" + string.Concat(Enumerable.Repeat("]}", 1100));
        await using var node = await FakeServer.StartAsync(app => app.MapPost("/", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 });
            var method = document.RootElement.GetProperty("method").GetString();
            var id = document.RootElement.GetProperty("id").GetRawText();
            var result = method switch { "eth_chainId" => "\"0x7a69\"", "eth_blockNumber" => "\"0x1\"", _ => trace };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"jsonrpc":"2.0","id":{{id}},"result":{{result}}}""");
        }));
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("tracer", node.Url)]));

        using var response = await proxy.Client.PostAsync("/", new StringContent("""{"jsonrpc":"2.0","id":9,"method":"debug_traceTransaction","params":["0x01",{"tracer":"callTracer"}]}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":" + trace + "}", text);
        Assert.Equal("tracer", response.Headers.GetValues("X-RpcShield-Upstream").Single());
    }
}
