using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Routing;

/// <summary>
/// Errors every node gives a request are the request's answer, not the nodes' fault; a fault only
/// one node has still fails over and counts against that node.
/// </summary>
public sealed class SharedErrorTests
{
    // Every anvil answers this with -32603 "EVM error InvalidFEOpcode" (the 0xfe opcode): a bad candidate, not a bad node.
    private static readonly string BadEstimate = $$"""[{"from":"{{AnvilNode.DevAddress0}}","data":"0xfe"}]""";

    [Fact]
    public async Task Three_hundred_errors_every_node_shares_reach_their_callers_and_no_node_or_mode_suffers()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        var journal = new RecordingJournal();
        await using var proxy = await ProxyUnderTest.StartAsync(
            // A generous probe timeout: on a loaded runner a late probe would count in the window checked below.
            ResilienceYaml.Chain([("a", a.Url, "primary"), ("b", b.Url, "primary"), ("c", c.Url, "primary")], health: "{ interval: 200ms, timeout: 3s, fail_after: 3, recover_after: 2, max_block_lag: 2 }"),
            services: s => s.AddSingleton<IFailureJournal>(journal));
        await proxy.WaitRoutableAsync(3);

        using var gate = new SemaphoreSlim(30);
        var replies = await Task.WhenAll(Enumerable.Range(0, 300).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                return await Rpc.CallAsync(proxy, "eth_estimateGas", BadEstimate);
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.All(replies, reply =>
        {
            Assert.Equal(-32603, reply.ErrorCode);
            Assert.Contains("InvalidFEOpcode", reply.ErrorMessage, StringComparison.Ordinal);
            Assert.Equal("full", reply.Mode);
        });
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        var chain = status.GetProperty("chains")[0];
        Assert.Equal("full", chain.GetProperty("mode").GetString());
        Assert.All(chain.GetProperty("upstreams").EnumerateArray(), upstream =>
        {
            Assert.Equal("healthy", upstream.GetProperty("health").GetString());
            Assert.Equal(0, upstream.GetProperty("window_failed").GetInt64());
        });
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_failovers_total"));
        Assert.DoesNotContain(journal.Entries, e => e.Kind == JournalKinds.FailedAttempt);

        // Each error was asked of a second node: every one of them booked as an answer.
        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_upstream_requests_total", ("outcome", "ok")) >= 600);
        for (var i = 0; i < 20; i++)
        {
            Assert.False((await Rpc.BalanceAsync(proxy)).IsError);
        }
    }

    [Fact]
    public async Task A_fault_only_one_node_has_is_served_by_another_node_and_counts_against_it()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        // A node in front of `a` that fails eth_getBalance with an error no other node gives.
        await using var broken = await BrokenBalanceNodeAsync(a.Url);
        var journal = new RecordingJournal();
        await using var proxy = await ProxyUnderTest.StartAsync(
            ResilienceYaml.Chain([("broken", broken.Url, "primary"), ("a", a.Url, "fallback"), ("b", b.Url, "fallback")]),
            services: s => s.AddSingleton<IFailureJournal>(journal));
        await proxy.WaitRoutableAsync(3);

        for (var i = 0; i < 10; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
            Assert.NotEqual("broken", reply.Upstream);
        }

        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_failovers_total", ("upstream", "broken"), ("reason", "node_error")) >= 1);
        Assert.Contains(journal.Entries, e => e is { Kind: JournalKinds.FailedAttempt, Upstream: "broken" });
        Assert.DoesNotContain(journal.Entries, e => e.Kind == JournalKinds.FailedAttempt && e.Upstream != "broken");
    }

    private static Task<FakeServer> BrokenBalanceNodeAsync(string target)
    {
        var http = new HttpClient();
        return FakeServer.StartAsync(app => app.MapPost("/", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            using var document = JsonDocument.Parse(body.ToArray());
            context.Response.ContentType = "application/json";
            if (document.RootElement.GetProperty("method").GetString() == "eth_getBalance")
            {
                var id = document.RootElement.GetProperty("id").GetRawText();
                await context.Response.WriteAsync($$$"""{"jsonrpc":"2.0","id":{{{id}}},"error":{"code":-32603,"message":"internal error: state root mismatch"}}""");
                return;
            }

            using var forwarded = await http.PostAsync(target, new ByteArrayContent(body.ToArray()) { Headers = { ContentType = new("application/json") } });
            await context.Response.Body.WriteAsync(await forwarded.Content.ReadAsByteArrayAsync());
        }));
    }
}
