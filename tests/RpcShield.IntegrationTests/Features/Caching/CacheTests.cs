using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.Caching;

/// <summary>The response cache against a synthetic node that counts what reaches it.</summary>
public sealed class CacheTests
{
    [Fact]
    public async Task A_repeated_final_block_read_is_a_hit_and_reaches_the_node_once()
    {
        await using var node = await SyntheticChain.StartAsync();
        await using var proxy = await StartAsync(node);

        var first = await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x10\",false]", id: "1");
        var second = await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[ \"0x10\", false ]", id: "\"two\"");

        Assert.Equal("miss", first.Cache);
        Assert.Equal("hit", second.Cache);
        Assert.Equal("two", second.Body.GetProperty("id").GetString());
        Assert.True(JsonElement.DeepEquals(first.Result, second.Result));
        Assert.Equal(1, node.Count("eth_getBlockByNumber", "0x10"));
        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_cache_requests_total", ("chain", "test"), ("method", "eth_getBlockByNumber"), ("result", "hit")) >= 1);

        // A block above the finalized one may still change: never kept.
        var recent = "0x" + (node.Head - 2).ToString("x", CultureInfo.InvariantCulture);
        await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", $"[\"{recent}\",false]");
        await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", $"[\"{recent}\",false]");
        Assert.Equal(2, node.Count("eth_getBlockByNumber", recent));
    }

    [Fact]
    public async Task Hundred_identical_concurrent_reads_reach_the_node_a_handful_of_times_each_with_its_own_id()
    {
        await using var node = await SyntheticChain.StartAsync();
        node.CallDelay = TimeSpan.FromMilliseconds(500);
        await using var proxy = await StartAsync(node);

        var answers = await IdenticalCallsAsync(proxy, 100);

        Assert.InRange(node.Count("eth_call"), 1, 5);
        Assert.Contains(answers, a => a.Cache == "coalesced");
    }

    [Fact]
    public async Task Pending_reads_and_sends_are_never_cached()
    {
        await using var node = await SyntheticChain.StartAsync();
        await using var proxy = await StartAsync(node);
        const string address = "0x000000000000000000000000000000000000beef";

        for (var i = 0; i < 2; i++)
        {
            var pending = await CacheClient.CallAsync(proxy, "eth_getBalance", $"[\"{address}\",\"pending\"]");
            Assert.Null(pending.Cache);
            await CacheClient.CallAsync(proxy, "eth_sendRawTransaction", "[\"0x02f86c827a6980843b9aca00850c92a69c0082520894000000000000000000000000000000000000beef0180c001a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\"]");
        }

        Assert.Equal(2, node.Count("eth_getBalance"));
        Assert.True(node.Count("eth_sendRawTransaction") >= 2);
    }

    [Fact]
    public async Task An_oversize_result_is_answered_but_not_kept()
    {
        await using var node = await SyntheticChain.StartAsync();
        // max_bytes 1MiB: answers above 64KiB are not kept.
        node.BigFrom = 0x20;
        node.BigBytes = 100_000;
        await using var proxy = await StartAsync(node);

        for (var i = 0; i < 2; i++)
        {
            var answer = await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x20\",false]");
            Assert.Equal("miss", answer.Cache);
            Assert.Equal(2 + (100_000 * 2), answer.Result.GetProperty("extraData").GetString()!.Length);
        }

        Assert.Equal(2, node.Count("eth_getBlockByNumber", "0x20"));
    }

    [Fact]
    public async Task The_cache_stays_within_max_bytes_and_evicts_the_least_recently_used()
    {
        await using var node = await SyntheticChain.StartAsync();
        node.Padding = 20_000;
        await using var proxy = await StartAsync(node);

        for (var block = 1; block <= 120; block++)
        {
            await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", $"[\"0x{block:x}\",false]");
        }

        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(proxy, "rpcshield_cache_evictions_total", ("chain", "test"), ("reason", "capacity")) > 0, "capacity evictions");
        var bytes = await Rpc.MetricAsync(proxy, "rpcshield_cache_bytes", ("chain", "test"));
        Assert.InRange(bytes, 1, 1 << 20);
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        var cache = status.GetProperty("chains")[0].GetProperty("cache");
        Assert.True(cache.GetProperty("bytes").GetInt64() <= 1 << 20);
        Assert.True(cache.GetProperty("hit_rate").GetDouble() >= 0);
    }

    [Fact]
    public async Task No_cache_bypasses_and_a_method_override_turns_the_cache_off()
    {
        await using var node = await SyntheticChain.StartAsync();
        await using var proxy = await StartAsync(node, chainCache: "    cache: { methods: { eth_getBalance: false } }");

        await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x11\",false]");
        var bypassed = await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x11\",false]", cacheControl: "no-cache");
        Assert.Equal("bypass", bypassed.Cache);
        Assert.Equal(2, node.Count("eth_getBlockByNumber", "0x11"));

        const string address = "0x000000000000000000000000000000000000beef";
        for (var i = 0; i < 2; i++)
        {
            Assert.Null((await CacheClient.CallAsync(proxy, "eth_getBalance", $"[\"{address}\",\"0x10\"]")).Cache);
        }

        Assert.Equal(2, node.Count("eth_getBalance"));
    }

    [Fact]
    public async Task Batch_items_are_looked_up_one_by_one_and_only_misses_go_upstream()
    {
        await using var node = await SyntheticChain.StartAsync();
        await using var proxy = await StartAsync(node);
        await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x12\",false]");

        var batch = await CacheClient.PostAsync(proxy.Client, """
            [{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x12",false]},
             {"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["0x13",false]},
             {"jsonrpc":"2.0","id":3,"method":"eth_chainId","params":[]}]
            """);

        Assert.Equal(3, batch.Body.GetArrayLength());
        Assert.Equal("0x12", batch.Body[0].GetProperty("result").GetProperty("number").GetString());
        Assert.Equal("0x13", batch.Body[1].GetProperty("result").GetProperty("number").GetString());
        Assert.Equal("0x7a69", batch.Body[2].GetProperty("result").GetString());
        Assert.Equal(1, node.Count("eth_getBlockByNumber", "0x12"));
        Assert.Equal(1, node.Count("eth_getBlockByNumber", "0x13"));
        Assert.Contains("hit", batch.Cache!, StringComparison.Ordinal);
        Assert.Contains("miss", batch.Cache!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_never_includes_the_client_token_and_chain_id_is_answered_locally_after_the_first_answer()
    {
        await using var node = await SyntheticChain.StartAsync();
        const string token = "cache-test-token-0123456789";
        await using var proxy = await StartAsync(node, server: $", auth_token: \"{token}\"", token: token);
        using var plain = new HttpClient { BaseAddress = proxy.BaseAddress };

        var byHeader = await CacheClient.PostAsync(plain, """{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x14",false]}""", bearer: token);
        var byQuery = await CacheClient.PostAsync(plain, """{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x14",false]}""", path: "/?token=" + token);
        Assert.Equal("miss", byHeader.Cache);
        Assert.Equal("hit", byQuery.Cache);

        // eth_chainId is kept for ever after the first answer: later ones are answered locally, each with its own id.
        await CacheClient.PostAsync(plain, """{"jsonrpc":"2.0","id":"b","method":"eth_chainId","params":[]}""", bearer: token);
        var chainIdBefore = node.Count("eth_chainId");
        for (var i = 0; i < 5; i++)
        {
            var chainId = await CacheClient.PostAsync(plain, $$"""{"jsonrpc":"2.0","id":"c{{i}}","method":"eth_chainId","params":[]}""", bearer: token);
            Assert.Equal("0x7a69", chainId.Result.GetString());
            Assert.Equal("hit", chainId.Cache);
            Assert.Equal("c" + i, chainId.Body.GetProperty("id").GetString());
            Assert.Equal("node", chainId.Upstream);
        }

        Assert.True(node.Count("eth_chainId") - chainIdBefore <= 1, "eth_chainId went to the node (only a health probe may)");
    }

    [Fact]
    public async Task Identical_reads_whose_shared_attempt_fails_all_get_the_failover_answer_with_their_own_id()
    {
        await using var failing = await SyntheticChain.StartAsync();
        await using var good = await SyntheticChain.StartAsync();
        failing.CallDelay = TimeSpan.FromMilliseconds(500);
        failing.FailCalls = true;
        // The failing node is the only primary: every shared attempt goes to it first.
        var yaml = CacheClient.Yaml(failing.Url, cache: "cache: { max_bytes: 1MiB }").Replace(
            "      - { name: node,",
            $"      - {{ name: good, url: \"{good.Url}\", tier: fallback }}\n      - {{ name: node,",
            StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        await proxy.WaitRoutableAsync(2);

        var answers = await IdenticalCallsAsync(proxy, 20);

        for (var i = 0; i < answers.Length; i++)
        {
            Assert.Equal("good", answers[i].Upstream);
        }

        // The reads shared one attempt at the failing node; its failover's answer (the good node's) reached
        // every waiting read, each with its own id.
        Assert.Contains(answers, a => a.Cache == "coalesced");
        Assert.InRange(failing.Count("eth_call"), 1, 5);
        Assert.InRange(good.Count("eth_call"), 1, 5);
    }

    [Fact]
    public async Task With_polling_only_a_forwarded_eth_blockNumber_moves_the_tracked_head()
    {
        await using var node = await SyntheticChain.StartAsync();
        // Heads are polled once an hour and probed once an hour: only the forwarded answer can move them.
        var yaml = CacheClient.Yaml(node.Url, cache: "cache: { max_bytes: 1MiB }")
            .Replace("head_poll: 50ms", "head_poll: 1h", StringComparison.Ordinal)
            .Replace("interval: 200ms", "interval: 1h", StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        await proxy.WaitRoutableAsync(1);
        async Task<long> HeadAsync() => (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("chains")[0].GetProperty("head").GetInt64();
        await Rpc.WaitUntilAsync(async () => await HeadAsync() == 0x1000, "the first head");

        node.Head = 0x1005;
        var answer = await CacheClient.CallAsync(proxy, "eth_blockNumber");

        Assert.Equal("0x1005", answer.Result.GetString());
        Assert.NotEqual("hit", answer.Cache); // forwarded: no live newHeads feed
        await Rpc.WaitUntilAsync(async () => await HeadAsync() == 0x1005, "the tracked head moved by the answer", timeoutMs: 5000);
    }

    /// <summary><paramref name="count"/> identical eth_calls at once, ids 0…count-1; each answered `0x01` with its own id.</summary>
    private static async Task<CacheClient.Answer[]> IdenticalCallsAsync(ProxyUnderTest proxy, int count)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            CacheClient.CallAsync(proxy, "eth_call", """[{"to":"0x000000000000000000000000000000000000beef","data":"0x01"},"latest"]""", id: i.ToString(CultureInfo.InvariantCulture))));
        for (var i = 0; i < answers.Length; i++)
        {
            Assert.Equal(i, answers[i].Body.GetProperty("id").GetInt32());
            Assert.Equal("0x01", answers[i].Result.GetString());
        }

        return answers;
    }

    private static async Task<ProxyUnderTest> StartAsync(SyntheticChain node, string chainCache = "", string server = "", string? token = null)
    {
        var proxy = await ProxyUnderTest.StartAsync(CacheClient.Yaml(node.Url, cache: "cache: { max_bytes: 1MiB }", chainCache: chainCache, server: server));
        if (token is not null)
        {
            proxy.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        await proxy.WaitRoutableAsync(1);
        // Final blocks are known once the node's head (and its finalized block) has been read.
        await Rpc.WaitUntilAsync(
            async () => (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("chains")[0].GetProperty("cache").GetProperty("finalized_block").GetInt64() >= 0x100,
            "the finalized block");
        return proxy;
    }
}
