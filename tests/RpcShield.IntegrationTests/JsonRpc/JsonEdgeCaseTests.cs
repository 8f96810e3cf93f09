using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace RpcShield.IntegrationTests.JsonRpc;

/// <summary>
/// Attacks on the envelope, over HTTP and WebSocket: lone surrogate escapes (were HTTP 500 with an
/// empty body and a lost batch, no WebSocket reply at all), duplicate envelope keys (were routed on
/// the last `method` but forwarded with both), `-0` ids (came back as `0`).
/// </summary>
public sealed class JsonEdgeCaseTests : IClassFixture<BadInputFixture>
{
    private const string Good = """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""";
    private readonly BadInputFixture _fixture;

    public JsonEdgeCaseTests(BadInputFixture fixture) => _fixture = fixture;

    public static TheoryData<string, int> Singles => new()
    {
        { """{"jsonrpc":"2.0","id":1,"method":"\ud800","params":[]}""", -32700 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_call\udc00","params":[]}""", -32700 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["\ud800\u0041","latest"]}""", -32700 },
        { """{"jsonrpc":"2.0","id":"\udfff","method":"eth_chainId","params":[]}""", -32700 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"x\ud83d":1}""", -32700 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_chainId\x","params":[]}""", -32700 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_chainId\u12","params":[]}""", -32700 },
        { """{"jsonrpc":"2.0","id":1,"method":"debug_traceTransaction","method":"eth_gasPrice"}""", -32600 },
        { """{"jsonrpc":"2.0","id":1,"id":2,"method":"eth_chainId"}""", -32600 },
        { """{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"eth_chainId"}""", -32600 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"params":[]}""", -32600 },
        { """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","met\u0068od":"debug_traceTransaction"}""", -32600 },
    };

    [Theory]
    [MemberData(nameof(Singles))]
    public async Task Lone_surrogates_bad_escapes_and_duplicate_keys_get_a_json_rpc_error_over_http(string body, int code)
    {
        using var response = await _fixture.Proxy.Client.PostAsync("/", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        var reply = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, reply.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains(reply.GetProperty("id").GetRawText(), (string[])["1", "null"]);
        await AssertServesAsync();
    }

    [Theory]
    [MemberData(nameof(Singles))]
    public async Task Lone_surrogates_bad_escapes_and_duplicate_keys_get_a_json_rpc_error_over_websocket(string body, int code)
    {
        using var socket = await ConnectAsync();
        var reply = JsonDocument.Parse(await ExchangeAsync(socket, body)).RootElement;
        Assert.Equal(code, reply.GetProperty("error").GetProperty("code").GetInt32());
        // The connection keeps serving.
        Assert.Contains("0x7a69", await ExchangeAsync(socket, Good), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_batch_item_is_answered_in_place_and_the_rest_of_the_batch_is_served()
    {
        const string batch = """
            [{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},
             {"jsonrpc":"2.0","id":2,"method":"\ud800","params":[]},
             {"jsonrpc":"2.0","id":3,"method":"eth_blockNumber","params":["\udc00"]},
             {"jsonrpc":"2.0","id":4,"method":"debug_traceTransaction","method":"eth_gasPrice","params":[]},
             {"jsonrpc":"2.0","id":5,"method":"eth_chainId","params":[]}]
            """;
        using var response = await _fixture.Proxy.Client.PostAsync("/", new StringContent(batch, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertBatch(await response.Content.ReadAsStringAsync());

        using var socket = await ConnectAsync();
        AssertBatch(await ExchangeAsync(socket, batch));

        static void AssertBatch(string text)
        {
            var items = JsonDocument.Parse(text).RootElement.EnumerateArray().ToDictionary(i => i.GetProperty("id").GetRawText());
            Assert.Equal(5, items.Count);
            Assert.Equal("0x7a69", items["1"].GetProperty("result").GetString());
            Assert.Equal("0x7a69", items["5"].GetProperty("result").GetString());
            foreach (var bad in (string[])["2", "3", "4"])
            {
                Assert.Equal(-32600, items[bad].GetProperty("error").GetProperty("code").GetInt32());
            }
        }
    }

    [Theory]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("0")]
    [InlineData("-7")]
    public async Task Ids_come_back_byte_exact_over_websocket(string id)
    {
        using var socket = await ConnectAsync();
        var text = await ExchangeAsync(socket, $$"""{"jsonrpc":"2.0","id":{{id}},"method":"eth_chainId","params":[]}""");
        Assert.Contains($"\"id\":{id},", text, StringComparison.Ordinal);
        Assert.Contains("0x7a69", text, StringComparison.Ordinal);
    }

    private async Task AssertServesAsync()
    {
        using var response = await _fixture.Proxy.Client.PostAsync("/", new StringContent(Good, Encoding.UTF8, "application/json"));
        Assert.Contains("0x7a69", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<ClientWebSocket> ConnectAsync()
    {
        var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await socket.ConnectAsync(new UriBuilder(_fixture.Proxy.BaseAddress) { Scheme = "ws" }.Uri, timeout.Token);
        return socket;
    }

    /// <summary>Sends one message and returns the next reply (bounded: no reply fails the test).</summary>
    private static async Task<string> ExchangeAsync(ClientWebSocket socket, string message)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[64 * 1024];
        var length = 0;
        ValueWebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            length += received.Count;
        }
        while (!received.EndOfMessage);

        Assert.Equal(WebSocketMessageType.Text, received.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }
}
