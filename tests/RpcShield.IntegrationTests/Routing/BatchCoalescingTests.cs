using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.IntegrationTests.Routing;

/// <summary>
/// A client batch's reads go to their upstream as one upstream batch; each item still gets its own
/// answer, id and failover. Real anvil for the happy path; scripted nodes where a node must
/// misbehave in ways anvil never does (reordered, missing, refused batches).
/// </summary>
public sealed class BatchCoalescingTests
{
    private const string Reads = """
        [{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},
         {"jsonrpc":"2.0","id":"two","method":"eth_blockNumber","params":[]},
         {"jsonrpc":"2.0","id":1.5,"method":"eth_getBalance","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]},
         {"jsonrpc":"2.0","method":"eth_blockNumber","params":[]},
         {"jsonrpc":"2.0","id":"x<y","method":"eth_gasPrice","params":[]}]
        """;

    [Fact]
    public async Task A_batch_of_reads_reaches_a_real_node_as_one_request_and_each_item_gets_its_own_answer_and_id()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var relay = await RecordingRelay.StartAsync(anvil.Url);
        await using var proxy = await StartUncachedAsync(Yaml.Chain([("a", relay.Url)]));

        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Reads));
        var answers = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();

        // The notification is not answered; every other item is, in the client's order, with its own id.
        Assert.Equal(4, answers.Length);
        Assert.Equal("0x7a69", answers[0].GetProperty("result").GetString());
        Assert.Equal(1, answers[0].GetProperty("id").GetInt32());
        Assert.Equal("two", answers[1].GetProperty("id").GetString());
        Assert.StartsWith("0x", answers[1].GetProperty("result").GetString(), StringComparison.Ordinal);
        Assert.Equal("1.5", answers[2].GetProperty("id").GetRawText());
        Assert.Equal("0x21e19e0c9bab2400000", answers[2].GetProperty("result").GetString());
        Assert.Equal("x<y", answers[3].GetProperty("id").GetString());
        Assert.False(answers[3].TryGetProperty("error", out _));
        Assert.Equal(["[5]"], relay.Batches);
    }

    [Fact]
    public async Task Answers_in_any_order_come_back_in_the_clients_order()
    {
        await using var node = await ScriptedNode.StartAsync(batch => new JsonArray(batch.Reverse().Select(i => ScriptedNode.Answer(i!)).ToArray()));
        await using var proxy = await StartUncachedAsync(Yaml.Chain([("a", node.Url)]));

        var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"), ("eth_chainId", "3")));

        Assert.Equal(["1", "2", "3"], answers.Select(a => a.GetProperty("id").GetRawText()));
        Assert.Equal(["eth_blockNumber", "eth_gasPrice", "eth_chainId"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal(["[3]"], node.Batches);
    }

    [Fact]
    public async Task An_item_the_node_left_unanswered_or_failed_fails_over_alone_to_the_next_upstream()
    {
        await using var first = await ScriptedNode.StartAsync(batch => new JsonArray(batch
            .Where(i => i!["method"]!.GetValue<string>() != "eth_gasPrice")
            .Select(i => i!["method"]!.GetValue<string>() == "eth_getCode" ? ScriptedNode.Error(i!, -32000, "header not found") : ScriptedNode.Answer(i!))
            .ToArray()));
        await using var second = await ScriptedNode.StartAsync();
        await using var proxy = await StartUncachedAsync(FirstThenSecond(first, second));
        await WaitForRankingAsync(proxy, "first");

        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"), ("eth_getCode", "3"))));
        var answers = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();
        Assert.Equal(["eth_blockNumber", "eth_gasPrice", "eth_getCode"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal(["[3]"], first.Batches);
        Assert.Empty(first.Singles);
        Assert.Equal(["eth_gasPrice", "eth_getCode"], second.Singles.Order());
        Assert.Equal("first,second", string.Join(',', response.Headers.GetValues("X-RpcShield-Upstream")));
    }

    [Fact]
    public async Task A_revert_inside_a_batch_is_the_answer_not_a_failover()
    {
        await using var first = await ScriptedNode.StartAsync(batch => new JsonArray(batch
            .Select(i => i!["method"]!.GetValue<string>() == "eth_call" ? ScriptedNode.Error(i!, 3, "execution reverted") : ScriptedNode.Answer(i!))
            .ToArray()));
        await using var second = await ScriptedNode.StartAsync();
        await using var proxy = await StartUncachedAsync(FirstThenSecond(first, second));
        await WaitForRankingAsync(proxy, "first");

        var answers = await PostAsync(proxy, Batch(("eth_call", "1"), ("eth_blockNumber", "2")));

        Assert.Equal("execution reverted", answers[0].GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("eth_blockNumber", answers[1].GetProperty("result").GetString());
        Assert.Empty(second.Singles);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    public async Task A_batch_answered_with_a_server_error_fails_every_item_over_even_with_answers_in_it(int status)
    {
        await using var first = await ScriptedNode.StartAsync(batchStatus: status);
        await using var second = await ScriptedNode.StartAsync();
        await using var proxy = await StartUncachedAsync(FirstThenSecond(first, second));
        await WaitForRankingAsync(proxy, "first");

        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"))));
        var answers = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();

        Assert.Equal(["eth_blockNumber", "eth_gasPrice"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal("second", string.Join(',', response.Headers.GetValues("X-RpcShield-Upstream")));
        Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "error")));
    }

    [Fact]
    public async Task A_node_failing_every_item_of_its_batches_is_marked_unhealthy_like_one_failing_requests()
    {
        await using var first = await ScriptedNode.StartAsync(batch => new JsonArray(batch.Select(i => ScriptedNode.Error(i!, -32000, "header not found")).ToArray()));
        await using var second = await ScriptedNode.StartAsync();
        // Probes every 5 s: none lands between the two batches to clear the failure streak (fail_after: 2).
        await using var proxy = await StartUncachedAsync(FirstThenSecond(first, second).Replace("interval: 200ms", "interval: 5s"));
        await WaitForRankingAsync(proxy, "first");

        var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2")));
        await PostAsync(proxy, Batch(("eth_chainId", "3"), ("eth_getCode", "4")));
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");

        Assert.Equal(["eth_blockNumber", "eth_gasPrice"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal("unhealthy", FailoverTests.Upstream(status, "first").GetProperty("health").GetString());
        Assert.Equal(2, await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "error")));
    }

    [Fact]
    public async Task An_item_throttled_inside_a_batch_fails_over_and_the_node_backs_off()
    {
        await using var first = await ScriptedNode.StartAsync(batch => new JsonArray(batch
            .Select(i => i!["method"]!.GetValue<string>() == "eth_gasPrice" ? ScriptedNode.Error(i!, -32005, "rate limit exceeded") : ScriptedNode.Answer(i!))
            .ToArray()));
        await using var second = await ScriptedNode.StartAsync();
        await using var proxy = await StartUncachedAsync(FirstThenSecond(first, second));
        await WaitForRankingAsync(proxy, "first");

        var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2")));
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        var later = await PostAsync(proxy, Batch(("eth_chainId", "3"), ("eth_getCode", "4")));

        Assert.Equal(["eth_blockNumber", "eth_gasPrice"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal(["eth_gasPrice"], second.Singles);
        Assert.True(FailoverTests.Upstream(status, "first").GetProperty("throttle").GetProperty("active").GetBoolean());
        Assert.Equal(["eth_chainId", "eth_getCode"], later.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal(["[2]"], first.Batches);
        Assert.Equal(["[2]"], second.Batches);
        Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "throttled")));
    }

    [Theory]
    [InlineData(200)]
    [InlineData(413)]
    public async Task A_node_refusing_batches_gets_the_items_one_by_one_and_is_not_failed_for_it(int status)
    {
        var refusal = """{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}""";
        await using var first = await ScriptedNode.StartAsync(_ => JsonNode.Parse(refusal), batchStatus: status);
        await using var second = await ScriptedNode.StartAsync();
        // Probes every 5 s: the node's request counters move only with this test's requests.
        await using var proxy = await StartUncachedAsync(FirstThenSecond(first, second).Replace("interval: 200ms", "interval: 5s"));
        await WaitForRankingAsync(proxy, "first");
        var okBefore = await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "ok"));

        var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "\"b\"")));
        var again = await PostAsync(proxy, Batch(("eth_chainId", "3"), ("eth_getCode", "4")));
        var okAfter = await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "ok"));

        Assert.Equal(["eth_blockNumber", "eth_gasPrice"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal(["eth_chainId", "eth_getCode"], again.Select(a => a.GetProperty("result").GetString()));
        // One refused batch, then single requests to the same node; the fallback never needed.
        Assert.Equal(["[2]"], first.Batches);
        Assert.Equal(["eth_blockNumber", "eth_chainId", "eth_gasPrice", "eth_getCode"], first.Singles.Order());
        Assert.Empty(second.Singles);
        // The refused batch counts neither as an error nor as an answer: only the four single requests do.
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "error")));
        Assert.Equal(4, okAfter - okBefore);
        Assert.Equal(1, await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("upstream", "first"), ("outcome", "batch_refused")));
    }

    [Fact]
    public async Task A_refusing_node_is_offered_batches_again_after_the_cooldown()
    {
        // The coalescer and sender on their own, on a fake clock, against a real (scripted) node.
        await using var node = await ScriptedNode.StartAsync(batchStatus: 413);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new ProxyOptions { Chains = [new ChainOptions { Name = "test", ChainId = 31337, Upstreams = [new UpstreamOptions { Name = "a", Url = node.Url }] }] };
        using var registry = new ChainRegistry(new ConfigStore(options, null, NullLogger<ConfigStore>.Instance), time, new RpcShieldMetrics(Prometheus.Metrics.NewCustomRegistry()), NullLogger<ChainRegistry>.Instance);
        var upstream = registry.Chains[0].Upstreams[0];
        var sender = new UpstreamSender(time, [], []);

        var coalescer = new BatchCoalescer(sender, time, CancellationToken.None);
        Assert.True(coalescer.TryJoin(upstream, Item("1"), TimeSpan.FromSeconds(5), out var first));
        Assert.True(coalescer.TryJoin(upstream, Item("2"), TimeSpan.FromSeconds(5), out var second));
        coalescer.Flush();
        Assert.Null(await first!);
        Assert.Null(await second!);
        Assert.Equal(["[2]"], node.Batches);

        time.Advance(BatchCoalescer.RefusalCooldown - TimeSpan.FromSeconds(1));
        Assert.False(new BatchCoalescer(sender, time, CancellationToken.None).TryJoin(upstream, Item("3"), TimeSpan.FromSeconds(5), out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(new BatchCoalescer(sender, time, CancellationToken.None).TryJoin(upstream, Item("3"), TimeSpan.FromSeconds(5), out _));

        static RpcRequestItem Item(string id) =>
            new(System.Text.Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":{{id}},"method":"eth_gasPrice","params":[]}"""), System.Text.Encoding.UTF8.GetBytes(id), "eth_gasPrice", default);
    }

    [Fact]
    public async Task A_slow_batch_is_hedged_item_by_item_and_the_client_does_not_wait_for_it()
    {
        await using var slow = await ScriptedNode.StartAsync(batchDelay: TimeSpan.FromSeconds(8));
        await using var quick = await ScriptedNode.StartAsync();
        var yaml = FirstThenSecond(slow, quick).Replace("per_attempt: 1500ms", "per_attempt: 9s");
        await using var proxy = await StartUncachedAsync(yaml);
        await WaitForRankingAsync(proxy, "first");

        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"))));
        var answers = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();

        Assert.Equal(["eth_blockNumber", "eth_gasPrice"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal("second", string.Join(',', response.Headers.GetValues("X-RpcShield-Upstream")));
        Assert.Equal(["eth_blockNumber", "eth_gasPrice"], quick.Singles.Order());
        // The hedges answered after the cold-start hedge delay (250 ms); the batch would have taken 8 s.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(6), $"waited {started.Elapsed} for a hedged batch");
    }

    [Fact]
    public async Task Upstreams_with_a_rate_budget_and_items_with_different_timeouts_are_not_batched_together()
    {
        await using var budgeted = await ScriptedNode.StartAsync();
        await using var plain = await ScriptedNode.StartAsync();
        var yaml = With(Yaml.Chain([("budgeted", budgeted.Url)]), budgeted, "max_rps: 1000");
        await using (var proxy = await StartUncachedAsync(yaml))
        {
            Assert.Equal(3, (await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"), ("eth_chainId", "3")))).Length);
            Assert.Empty(budgeted.Batches);
            Assert.Equal(3, budgeted.Singles.Length);
        }

        yaml = Yaml.Chain([("plain", plain.Url)]).Replace("per_attempt: 1500ms", "per_attempt: 1500ms, methods: { eth_getLogs: 700ms }");
        await using (var proxy = await StartUncachedAsync(yaml))
        {
            var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_getLogs", "2"), ("eth_gasPrice", "3"), ("eth_getLogs", "4"), ("eth_call", "5")));
            Assert.Equal(["eth_blockNumber", "eth_getLogs", "eth_gasPrice", "eth_getLogs", "eth_call"], answers.Select(a => a.GetProperty("result").GetString()));
            Assert.Equal(["[2]", "[3]"], plain.Batches.Order());
            Assert.Empty(plain.Singles);
        }
    }

    [Fact]
    public async Task Max_batch_splits_a_batch_and_zero_sends_every_item_alone()
    {
        await using var split = await ScriptedNode.StartAsync();
        await using var alone = await ScriptedNode.StartAsync();
        var yaml = With(Yaml.Chain([("split", split.Url)]), split, "max_batch: 2");
        await using (var proxy = await StartUncachedAsync(yaml))
        {
            var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"), ("eth_chainId", "3"), ("eth_getCode", "4"), ("eth_call", "5")));
            Assert.Equal(["1", "2", "3", "4", "5"], answers.Select(a => a.GetProperty("id").GetRawText()));
            Assert.Equal(["[2]", "[2]"], split.Batches);
            Assert.Single(split.Singles);
        }

        yaml = With(Yaml.Chain([("alone", alone.Url)]), alone, "max_batch: 0");
        await using (var proxy = await StartUncachedAsync(yaml))
        {
            var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "1"), ("eth_gasPrice", "2"), ("eth_chainId", "3")));
            Assert.Equal(3, answers.Length);
            Assert.Empty(alone.Batches);
            Assert.Equal(["eth_blockNumber", "eth_chainId", "eth_gasPrice"], alone.Singles.Order());
        }
    }

    [Fact]
    public async Task Items_sharing_an_id_each_get_their_own_answer()
    {
        await using var node = await ScriptedNode.StartAsync();
        await using var proxy = await StartUncachedAsync(Yaml.Chain([("a", node.Url)]));

        var answers = await PostAsync(proxy, Batch(("eth_blockNumber", "7"), ("eth_gasPrice", "7"), ("eth_chainId", "8")));

        Assert.Equal(["eth_blockNumber", "eth_gasPrice", "eth_chainId"], answers.Select(a => a.GetProperty("result").GetString()));
        Assert.Equal(["[2]"], node.Batches);
        Assert.Equal(["eth_gasPrice"], node.Singles);
    }

    private static string Batch(params (string Method, string Id)[] items) =>
        "[" + string.Join(",", items.Select(i => $$"""{"jsonrpc":"2.0","id":{{i.Id}},"method":"{{i.Method}}","params":[]}""")) + "]";

    private static async Task<JsonElement[]> PostAsync(ProxyUnderTest proxy, string body)
    {
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(body));
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();
    }

    /// <summary>`second` is a fallback tier: it ranks after `first` whatever their latencies.</summary>
    private static string FirstThenSecond(ScriptedNode first, ScriptedNode second) =>
        With(Yaml.Chain([("first", first.Url), ("second", second.Url)]), second, "tier: fallback");

    /// <summary><paramref name="yaml"/> with one more setting on <paramref name="node"/>'s upstream entry.</summary>
    private static string With(string yaml, ScriptedNode node, string setting) =>
        yaml.Replace($"url: \"{node.Url}\" }}", $"url: \"{node.Url}\", {setting} }}");

    private static Task WaitForRankingAsync(ProxyUnderTest proxy, string first) =>
        Rpc.WaitUntilAsync(
            async () =>
            {
                var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
                var ranking = status.GetProperty("chains")[0].GetProperty("ranking");
                return ranking.GetArrayLength() > 1 && ranking[0].GetString() == first;
            },
            $"{first} ranked first");

    /// <summary>
    /// A node whose batch answers a test scripts (single requests are answered normally). Every
    /// non-probe method answers its own name as the result, so tests see which item got which answer.
    /// </summary>
    private sealed class ScriptedNode : IAsyncDisposable
    {
        private readonly FakeServer _server;
        private readonly ConcurrentQueue<string> _batches = new();
        private readonly ConcurrentQueue<string> _singles = new();

        private ScriptedNode(FakeServer server) => _server = server;

        public string Url => _server.Url;

        /// <summary>Each batch received, as `[items]`.</summary>
        public string[] Batches => [.. _batches];

        /// <summary>Methods received one by one (health probes excluded).</summary>
        public string[] Singles => [.. _singles];

        /// <param name="answerBatch">The answer to a batch of requests (default: each answered in order).</param>
        /// <param name="batchStatus">HTTP status of batch answers.</param>
        /// <param name="batchDelay">How long a batch takes to be answered.</param>
        public static async Task<ScriptedNode> StartAsync(Func<JsonArray, JsonNode?>? answerBatch = null, int batchStatus = 200, TimeSpan batchDelay = default)
        {
            ScriptedNode? node = null;
            var server = await FakeServer.StartAsync(app => app.MapPost("/", async context =>
            {
                var request = await JsonNode.ParseAsync(context.Request.Body);
                JsonNode? answer;
                if (request is JsonArray batch)
                {
                    node!._batches.Enqueue($"[{batch.Count}]");
                    await Task.Delay(batchDelay, context.RequestAborted);
                    context.Response.StatusCode = batchStatus;
                    answer = answerBatch is null ? new JsonArray(batch.Select(i => Answer(i!)).ToArray()) : answerBatch(batch);
                }
                else
                {
                    var method = request!["method"]!.GetValue<string>();
                    if (!IsProbe(request))
                    {
                        node!._singles.Enqueue(method);
                    }

                    answer = Answer(request);
                }

                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(answer!.ToJsonString());
            }));
            node = new ScriptedNode(server);
            return node;
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();

        public static JsonNode Error(JsonNode item, int code, string message) => new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = item["id"]?.DeepClone(),
            ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
        };

        /// <summary>The health monitor's probes (chain id and head) carry RpcShield's own id.</summary>
        private static bool IsProbe(JsonNode request) => request["id"]?.GetValueKind() == JsonValueKind.String && request["id"]!.GetValue<string>() == "rpcshield-probe";

        public static JsonNode Answer(JsonNode item)
        {
            var method = item["method"]!.GetValue<string>();
            var result = !IsProbe(item) ? method : method == "eth_chainId" ? "0x7a69" : "0x10";
            return new JsonObject { ["jsonrpc"] = "2.0", ["id"] = item["id"]?.DeepClone(), ["result"] = result };
        }
    }

    /// <summary>Relays to a real node and records what reached it as batches.</summary>
    private sealed class RecordingRelay : IAsyncDisposable
    {
        private readonly FakeServer _server;
        private readonly HttpClient _client = new();
        private readonly ConcurrentQueue<string> _batches = new();

        private RecordingRelay(FakeServer server) => _server = server;

        public string Url => _server.Url;

        public string[] Batches => [.. _batches];

        public static async Task<RecordingRelay> StartAsync(string target)
        {
            RecordingRelay? relay = null;
            var server = await FakeServer.StartAsync(app => app.MapPost("/", async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                if (JsonNode.Parse(body) is JsonArray batch)
                {
                    relay!._batches.Enqueue($"[{batch.Count}]");
                }

                using var forwarded = await relay!._client.PostAsync(target, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(await forwarded.Content.ReadAsStringAsync());
            }));
            relay = new RecordingRelay(server);
            return relay;
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _server.DisposeAsync();
        }
    }

    /// <summary>These tests are about upstream batches: the response cache (which answers eth_chainId locally and shares identical items) is off.</summary>
    private static Task<ProxyUnderTest> StartUncachedAsync(string yaml) => ProxyUnderTest.StartAsync(yaml + "\ncache: { enabled: false }\n");
}
