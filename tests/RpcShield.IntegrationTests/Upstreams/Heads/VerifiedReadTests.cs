using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Upstreams.Heads;

/// <summary>A node that lies about balances, under `routing.consistency.verify`: its answers never reach the client.</summary>
public sealed class VerifiedReadTests
{
    [Fact]
    public async Task A_lying_node_is_outvoted_every_time_and_marked_diverged()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var liar = await LyingNode.StartAsync(a.Url);
        var journal = new RecordingJournal();
        // The liar ranks first (tier): without verification it would answer every read.
        await using var proxy = await ProxyUnderTest.StartAsync(
            ResilienceYaml.Chain(
                [("liar", liar.Url, "primary"), ("a", a.Url, "fallback"), ("b", b.Url, "fallback")],
                routing: "consistency: { verify: { methods: [eth_getBalance], quorum: 3, cooldown: 10m } }"),
            services: s => s.AddSingleton<IFailureJournal>(journal));
        await proxy.WaitRoutableAsync(3);
        var truth = (await a.CallAsync("eth_getBalance", AnvilNode.DevAddress0, "latest")).GetString();
        Assert.NotEqual(LyingNode.Lie, truth);

        var wrong = 0;
        for (var i = 0; i < 20; i++)
        {
            var reply = await Rpc.BalanceAsync(proxy);
            Assert.False(reply.IsError, reply.Body.ToString());
            wrong += reply.Result.GetString() == truth ? 0 : 1;
        }

        Assert.Equal(0, wrong);
        Assert.True(liar.BalanceReads >= 1, "the liar was asked");
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        var upstreams = status.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray().ToDictionary(u => u.GetProperty("name").GetString()!, u => u.GetProperty("diverged").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["liar"] = true, ["a"] = false, ["b"] = false }, upstreams);
        Assert.Equal("liar", status.GetProperty("chains")[0].GetProperty("ranking")[2].GetString());
        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_upstream_disagreements_total", ("upstream", "liar"), ("method", "eth_getBalance")) >= 1);
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_upstream_disagreements_total", ("upstream", "a")));
        Assert.Contains(journal.Entries, e => e is { Kind: JournalKinds.Disagreement, Upstream: "liar", Method: "eth_getBalance", Reason: "outvoted" });
    }

    /// <summary>Proxies to a real node and answers every eth_getBalance with a wrong balance.</summary>
    private sealed class LyingNode : IAsyncDisposable
    {
        public const string Lie = "0x1";

        private static readonly HttpClient Http = new();
        private readonly FakeServer _server;
        private int _balanceReads;

        private LyingNode(FakeServer server) => _server = server;

        public string Url => _server.Url;

        public int BalanceReads => Volatile.Read(ref _balanceReads);

        public static async Task<LyingNode> StartAsync(string node)
        {
            LyingNode? self = null;
            var server = await FakeServer.StartAsync(app => app.MapPost("/", async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var request = await reader.ReadToEndAsync();
                using var forwarded = await Http.PostAsync(node, new StringContent(request, Encoding.UTF8, "application/json"));
                var answer = await forwarded.Content.ReadAsStringAsync();
                if (JsonNode.Parse(request) is JsonObject single && single["method"]?.GetValue<string>() == "eth_getBalance"
                    && JsonNode.Parse(answer) is JsonObject reply && reply["result"] is not null)
                {
                    Interlocked.Increment(ref self!._balanceReads);
                    reply["result"] = Lie;
                    answer = reply.ToJsonString();
                }

                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(answer);
            }));
            self = new LyingNode(server);
            return self;
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
