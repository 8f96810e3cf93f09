using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.JsonRpc;

/// <summary>One anvil node behind RpcShield with small limits and method routes, shared by the class.</summary>
public sealed class BadInputFixture : IAsyncLifetime
{
    public const int MaxBodyBytes = 256 * 1024;
    public const int MaxBatchItems = 10;

    internal AnvilNode Node { get; private set; } = null!;

    internal ProxyUnderTest Proxy { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = await AnvilNode.StartAsync();
        var yaml = $$"""
            server: { listen: http://127.0.0.1:0, max_body_bytes: {{MaxBodyBytes}}, max_batch_items: {{MaxBatchItems}} }
            journal: { path: "" }
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - { name: node, url: "{{Node.Url}}", methods: { deny: ["debug_*", "trace_*"] } }
                  - { name: archive, url: "{{Node.Url}}/", tier: fallback, methods: { allow: ["trace_*", "eth_get*"] } }
                routes:
                  - { methods: ["trace_filter"], upstreams: [node] }
                  - { methods: ["eth_get*"], upstreams: [archive] }
                routing:
                  health: { interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2, max_block_lag: 2 }
                  timeouts: { default: 10s, per_attempt: 2s }
            """;
        Proxy = await ProxyUnderTest.StartAsync(yaml);
    }

    public async Task DisposeAsync()
    {
        await Proxy.DisposeAsync();
        await Node.DisposeAsync();
    }
}

/// <summary>Every row of the error table, odd ids, notifications; the process keeps serving after each.</summary>
public sealed class BadInputTests : IClassFixture<BadInputFixture>
{
    private readonly BadInputFixture _fixture;

    public BadInputTests(BadInputFixture fixture) => _fixture = fixture;

    private HttpClient Client => _fixture.Proxy.Client;

    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"", -32700)]
    [InlineData("not json at all", -32700)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"} trailing", -32700)]
    [InlineData("", -32700)]
    [InlineData("42", -32600)]
    [InlineData("\"eth_chainId\"", -32600)]
    [InlineData("[]", -32600)]
    [InlineData("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"eth_chainId\"}", -32600)]
    [InlineData("{\"id\":1,\"method\":\"eth_chainId\"}", -32600)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1}", -32600)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":\"x\"}", -32600)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"eth_chainId\"}", -32600)]
    public async Task Malformed_or_misshapen_requests_get_the_table_code(string body, int code)
    {
        var (status, json) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(code, json.GetProperty("error").GetProperty("code").GetInt32());
        // The id is echoed when it was itself valid, else null.
        var expectedId = code != -32700 && body.Contains("\"id\":1", StringComparison.Ordinal) ? "1" : "null";
        Assert.Equal(expectedId, json.GetProperty("id").GetRawText());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Batch_items_that_are_not_objects_or_invalid_get_their_own_error_in_place()
    {
        var (_, json) = await PostAsync("""[1, {"jsonrpc":"2.0","id":"ok","method":"eth_chainId","params":[]}, {"jsonrpc":"2.0","id":"bad","params":[]}, "x"]""");
        var items = json.EnumerateArray().ToArray();
        Assert.Equal(4, items.Length);
        Assert.Equal(-32600, items[0].GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("0x7a69", items[1].GetProperty("result").GetString());
        Assert.Equal("ok", items[1].GetProperty("id").GetString());
        Assert.Equal(-32600, items[2].GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("bad", items[2].GetProperty("id").GetString());
        Assert.Equal(-32600, items[3].GetProperty("error").GetProperty("code").GetInt32());
        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("debug_traceTransaction")]   // denied on node, not allowed on archive
    [InlineData("trace_filter")]             // routed to node only, which denies trace_*
    public async Task Methods_no_upstream_may_serve_get_32601_from_RpcShield(string method)
    {
        var (status, json) = await PostAsync($$"""{"jsonrpc":"2.0","id":5,"method":"{{method}}","params":[]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(-32601, json.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(5, json.GetProperty("id").GetInt32());
        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("trace_block", "archive")]          // only archive allows trace_*
    [InlineData("eth_getBalance", "archive")]       // route eth_get* -> archive, although node ranks first
    [InlineData("eth_blockNumber", "node")]         // no route: primary tier first
    public async Task Allow_deny_globs_and_routes_pick_the_upstream(string method, string expected)
    {
        var @params = method switch
        {
            "trace_block" => "[\"0x0\"]",
            "eth_getBalance" => $"[\"{AnvilNode.DevAddress0}\",\"latest\"]",
            _ => "[]",
        };
        using var response = await Client.PostAsync("/", Json($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{@params}}}"""));
        Assert.Equal(expected, response.Headers.GetValues("X-RpcShield-Upstream").Single());
    }

    [Fact]
    public async Task A_body_over_max_body_bytes_gets_413_and_32093()
    {
        var big = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[\"" + new string('a', BadInputFixture.MaxBodyBytes) + "\"]}";
        var (status, json) = await PostAsync(big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal(-32093, json.GetProperty("error").GetProperty("code").GetInt32());

        // Without Content-Length (chunked) the limit is enforced while reading.
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(-32093, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetInt32());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_batch_over_max_batch_items_gets_413_and_32093()
    {
        var items = Enumerable.Range(0, BadInputFixture.MaxBatchItems + 1).Select(i => $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_chainId","params":[]}""");
        var (status, json) = await PostAsync("[" + string.Join(",", items) + "]");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal(-32093, json.GetProperty("error").GetProperty("code").GetInt32());

        var atLimit = Enumerable.Range(0, BadInputFixture.MaxBatchItems).Select(i => $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_chainId","params":[]}""");
        var (okStatus, ok) = await PostAsync("[" + string.Join(",", atLimit) + "]");
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(BadInputFixture.MaxBatchItems, ok.GetArrayLength());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task An_unknown_chain_gets_404_and_32096()
    {
        var (status, json) = await PostAsync("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""", "/no-such-chain");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(-32096, json.GetProperty("error").GetProperty("code").GetInt32());

        var (namedStatus, named) = await PostAsync("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""", "/test");
        Assert.Equal(HttpStatusCode.OK, namedStatus);
        Assert.Equal("0x7a69", named.GetProperty("result").GetString());
    }

    [Theory]
    [InlineData('[')]
    [InlineData('{')]
    public async Task Deeply_nested_json_fails_fast_without_crashing(char open)
    {
        var body = open == '[' ? new string('[', 100_000) : string.Concat(Enumerable.Repeat("{\"a\":", 20_000));
        var (status, json) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(-32700, json.GetProperty("error").GetProperty("code").GetInt32());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Nested_params_inside_a_valid_request_are_bounded_too()
    {
        var body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_call\",\"params\":" + new string('[', 20_000) + new string(']', 20_000) + "}";
        var (_, json) = await PostAsync(body);
        Assert.Equal(-32700, json.GetProperty("error").GetProperty("code").GetInt32());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Huge_random_garbage_gets_a_parse_error_and_the_process_keeps_serving()
    {
        var random = new Random(42);
        var garbage = new byte[BadInputFixture.MaxBodyBytes - 1];
        random.NextBytes(garbage);
        using var content = new ByteArrayContent(garbage);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await Client.PostAsync("/", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(-32700, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetInt32());

        var tooBig = new byte[4 * 1024 * 1024];
        random.NextBytes(tooBig);
        using var bigContent = new ByteArrayContent(tooBig);
        using var bigResponse = await Client.PostAsync("/", bigContent);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigResponse.StatusCode);
        Assert.Equal(-32093, JsonDocument.Parse(await bigResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetInt32());

        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_declared_oversize_body_still_being_sent_gets_its_json_error_every_time_on_a_busy_machine()
    {
        // Answered from Content-Length while the client is still writing 2 MB: the proxy drains the
        // rest (bounded) before closing, so the client reads the -32093 instead of a connection reset.
        var body = new byte[2 * 1024 * 1024];
        Array.Fill(body, (byte)'a');
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var burners = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(
            () =>
            {
                var spin = 0L;
                while (!stop.IsCancellationRequested)
                {
                    spin++;
                }

                return spin;
            },
            TaskCreationOptions.LongRunning)).ToArray();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await Client.PostAsync("/", content);
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
                Assert.Equal(-32093, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetInt32());
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(burners);
        }

        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("7")]
    [InlineData("-3")]
    [InlineData("\"abc\"")]
    [InlineData("\"with \\\"escapes\\\" \\u00e9\"")]
    [InlineData("\"<a&b>\"")]
    [InlineData("\"caf\u00e9 \u2028\"")]
    [InlineData("null")]
    [InlineData("123456789012345678901234567890")]
    [InlineData("1.5")]
    [InlineData("1e3")]
    [InlineData("0")]
    public async Task Ids_of_every_json_type_come_back_byte_for_byte(string id)
    {
        var text = await PostTextAsync($$"""{"jsonrpc":"2.0","id":{{id}},"method":"eth_chainId","params":[]}""");
        Assert.Contains("\"id\":" + id + ",", text, StringComparison.Ordinal);
        Assert.Contains("\"result\":\"0x7a69\"", text, StringComparison.Ordinal);

        var batch = await PostTextAsync($$"""[{"jsonrpc":"2.0","id":{{id}},"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":{{id}},"method":"no_such_method_here","params":[]}]""");
        var items = JsonDocument.Parse(batch).RootElement.EnumerateArray().ToArray();
        Assert.Equal(2, items.Length);
        Assert.All(items, item => Assert.Equal(id, item.GetProperty("id").GetRawText()));
    }

    [Fact]
    public async Task Notifications_get_no_response_item()
    {
        using (var single = await Client.PostAsync("/", Json("""{"jsonrpc":"2.0","method":"eth_chainId","params":[]}""")))
        {
            Assert.True(single.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.OK);
            Assert.Equal("", await single.Content.ReadAsStringAsync());
        }

        var (_, mixed) = await PostAsync("""[{"jsonrpc":"2.0","method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":"kept","method":"eth_chainId","params":[]},{"jsonrpc":"2.0","method":"eth_blockNumber"}]""");
        var item = Assert.Single(mixed.EnumerateArray());
        Assert.Equal("kept", item.GetProperty("id").GetString());

        using var allNotifications = await Client.PostAsync("/", Json("""[{"jsonrpc":"2.0","method":"eth_chainId","params":[]},{"jsonrpc":"2.0","method":"eth_blockNumber"}]"""));
        Assert.Equal("", await allNotifications.Content.ReadAsStringAsync());

        // A node answers nothing to a notification; that must never count against its health.
        var status = await Client.GetStringAsync("/status");
        Assert.DoesNotContain("unhealthy", status, StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    private async Task AssertStillServesAsync()
    {
        var (status, json) = await PostAsync("""{"jsonrpc":"2.0","id":"alive","method":"eth_chainId","params":[]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("alive", json.GetProperty("id").GetString());
        Assert.Equal("0x7a69", json.GetProperty("result").GetString());
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> PostAsync(string body, string path = "/")
    {
        using var response = await Client.PostAsync(path, Json(body));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<string> PostTextAsync(string body)
    {
        using var response = await Client.PostAsync("/", Json(body));
        return await response.Content.ReadAsStringAsync();
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
