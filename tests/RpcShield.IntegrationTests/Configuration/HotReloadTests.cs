using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Configuration;

/// <summary>Editing proxy.yaml while RpcShield serves: valid edits apply live, invalid ones are rejected.</summary>
public sealed partial class HotReloadTests
{
    private static string Config(string anvil, string slow, bool edited, string extra = "") => $$"""
        server: { listen: http://127.0.0.1:0 }
        journal: { path: "" }
        chains:
          - name: test
            chain_id: 31337
            upstreams:
              - { name: slow, url: "{{slow}}" }
              - { name: a, url: "{{anvil}}" }
        {{(edited ? $"      - {{ name: b, url: \"{anvil}/\" }}" : "")}}
            routes:
              - { methods: ["eth_call"], upstreams: [slow] }
              - { methods: ["eth_getBalance"], upstreams: [{{(edited ? "b" : "a")}}] }
            routing:
              health: { interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2 }
              timeouts: { default: 10s, per_attempt: 5s }
        {{extra}}
        """;

    [Fact]
    public async Task A_valid_edit_applies_live_keeps_learned_state_and_in_flight_requests_and_a_bad_edit_is_rejected()
    {
        await using var anvil = await AnvilNode.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = await FakeServer.StartAsync(app => app.MapPost("/", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var method = document.RootElement.GetProperty("method").GetString();
            var id = document.RootElement.GetProperty("id").GetRawText();
            if (method == "eth_call")
            {
                arrived.TrySetResult();
                await release.Task;
            }

            var result = method switch { "eth_chainId" => "0x7a69", "eth_blockNumber" => "0x0", _ => "0xcafe" };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"jsonrpc":"2.0","id":{{id}},"result":"{{result}}"}""");
        }));

        await using var proxy = await ProxyUnderTest.StartAsync(Config(anvil.Url, slow.Url, edited: false));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("a", await ServedByAsync(proxy, "eth_getBalance"));
        }

        var before = FailoverTests.Upstream(await StatusAsync(proxy), "a");
        Assert.True(before.GetProperty("window_ok").GetInt64() >= 5);

        var inFlight = proxy.Client.PostAsync("/", Json("""{"jsonrpc":"2.0","id":"long","method":"eth_call","params":[{},"latest"]}"""));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await File.WriteAllTextAsync(proxy.ConfigPath!, Config(anvil.Url, slow.Url, edited: true));
        await FailoverTests.WaitForAsync(proxy, s => s.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray()
            .Any(u => u.GetProperty("name").GetString() == "b" && u.GetProperty("health").GetString() == "healthy"));

        // The request that was in flight during the reload still completes.
        release.SetResult();
        using (var response = await inFlight)
        {
            Assert.Contains("0xcafe", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("slow", response.Headers.GetValues("X-RpcShield-Upstream").Single());
        }

        // Changed routes apply; the unchanged upstream kept what it had learned.
        Assert.Equal("b", await ServedByAsync(proxy, "eth_getBalance"));
        var after = FailoverTests.Upstream(await StatusAsync(proxy), "a");
        Assert.Equal(before.GetProperty("since").GetString(), after.GetProperty("since").GetString());
        Assert.True(after.GetProperty("window_ok").GetInt64() >= before.GetProperty("window_ok").GetInt64());
        Assert.Equal(1, await ReloadsAsync(proxy, "success"));

        // An invalid edit keeps the last good configuration.
        await File.WriteAllTextAsync(proxy.ConfigPath!, Config(anvil.Url, slow.Url, edited: false, extra: "bogus_key: 1"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ReloadsAsync(proxy, "failure") == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(1, await ReloadsAsync(proxy, "failure"));
        Assert.Equal("b", await ServedByAsync(proxy, "eth_getBalance"));
        Assert.Equal(1, await ReloadsAsync(proxy, "success"));
    }

    private static async Task<string> ServedByAsync(ProxyUnderTest proxy, string method)
    {
        var body = method == "eth_getBalance"
            ? $$"""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["{{AnvilNode.DevAddress0}}","latest"]}"""
            : $$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":[]}""";
        using var response = await proxy.Client.PostAsync("/", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"error\"", text, StringComparison.Ordinal);
        return response.Headers.GetValues("X-RpcShield-Upstream").Single();
    }

    private static Task<JsonElement> StatusAsync(ProxyUnderTest proxy) => proxy.Client.GetFromJsonAsync<JsonElement>("/status");

    private static async Task<int> ReloadsAsync(ProxyUnderTest proxy, string result)
    {
        var metrics = await proxy.Client.GetStringAsync("/metrics");
        var match = Regex.Match(metrics, $"^rpcshield_config_reloads_total\\{{result=\"{result}\"\\}} (\\d+)", RegexOptions.Multiline);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
