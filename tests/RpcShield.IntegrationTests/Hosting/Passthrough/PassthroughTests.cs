using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Hosting.Passthrough;

/// <summary>Non-JSON-RPC paths (a beacon node's REST API) through YARP routes with active health checks.</summary>
public sealed class PassthroughTests
{
    /// <summary>A beacon-style REST backend; <paramref name="healthy"/> decides its health endpoint's answer.</summary>
    private static Task<FakeServer> StartBeaconAsync(string name, Func<bool> healthy) => FakeServer.StartAsync(app =>
    {
        app.MapGet("/eth/v1/node/health", context =>
        {
            context.Response.StatusCode = healthy() ? 200 : 503;
            return Task.CompletedTask;
        });
        app.MapGet("/eth/v1/beacon/headers", context => context.Response.WriteAsJsonAsync(new
        {
            backend = name,
            path = context.Request.Path.Value,
            query = context.Request.QueryString.Value,
            data = new[] { new { root = "0xabc", canonical = true } },
        }));
    });

    private static string Config(string node, string path, params string[] destinations) => $$"""
        server: { listen: http://127.0.0.1:0 }
        journal: { path: "" }
        chains:
          - name: test
            chain_id: 31337
            upstreams:
              - { name: node, url: "{{node}}" }
            routing:
              health: { interval: 200ms, timeout: 1s }
        passthrough:
          - path: "{{path}}"
            destinations: [{{string.Join(", ", destinations.Select(d => $"\"{d}\""))}}]
            health_path: /eth/v1/node/health
            health_interval: 200ms
            health_timeout: 1s
            load_balancing: round_robin
        """;

    [Fact]
    public async Task Beacon_paths_are_forwarded_balanced_health_checked_and_reloaded_without_shadowing_json_rpc()
    {
        var sickIsHealthy = true;
        await using var node = await AnvilNode.StartAsync();
        await using var good = await StartBeaconAsync("good", () => true);
        await using var sick = await StartBeaconAsync("sick", () => Volatile.Read(ref sickIsHealthy));
        await using var proxy = await ProxyUnderTest.StartAsync(Config(node.Url, "/beacon/{**rest}", good.Url, sick.Url));

        // Both destinations serve while healthy (round robin), with the prefix removed and the query kept.
        var seen = new HashSet<string>();
        for (var i = 0; i < 6; i++)
        {
            var headers = await GetJsonAsync(proxy, "/beacon/eth/v1/beacon/headers?slot=12");
            Assert.Equal("/eth/v1/beacon/headers", headers.GetProperty("path").GetString());
            Assert.Equal("?slot=12", headers.GetProperty("query").GetString());
            seen.Add(headers.GetProperty("backend").GetString()!);
        }

        Assert.Equal(["good", "sick"], seen.Order());

        // The active health check takes the failing destination out.
        Volatile.Write(ref sickIsHealthy, false);
        await WaitUntilAsync(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                if ((await GetJsonAsync(proxy, "/beacon/eth/v1/beacon/headers")).GetProperty("backend").GetString() != "good")
                {
                    return false;
                }
            }

            return true;
        });

        using (var health = await proxy.Client.GetAsync("/beacon/eth/v1/node/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // JSON-RPC at / and /{chain} and RpcShield's own endpoints are not shadowed.
        await AssertJsonRpcAsync(proxy, "/");
        await AssertJsonRpcAsync(proxy, "/test");
        Assert.Equal("ok", await proxy.Client.GetStringAsync("/healthz"));
        Assert.Contains("\"chains\"", await proxy.Client.GetStringAsync("/status"), StringComparison.Ordinal);

        // Routes reload with the rest of the file.
        await File.WriteAllTextAsync(proxy.ConfigPath!, Config(node.Url, "/cl/{**rest}", good.Url));
        await WaitUntilAsync(async () =>
        {
            using var response = await proxy.Client.GetAsync("/cl/eth/v1/beacon/headers");
            return response.StatusCode == HttpStatusCode.OK;
        });
        using (var old = await proxy.Client.GetAsync("/beacon/eth/v1/beacon/headers"))
        {
            Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
        }
    }

    private static async Task AssertJsonRpcAsync(ProxyUnderTest proxy, string path)
    {
        using var response = await proxy.Client.PostAsync(path, new StringContent("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""", Encoding.UTF8, "application/json"));
        Assert.Contains("0x7a69", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> GetJsonAsync(ProxyUnderTest proxy, string path)
    {
        using var response = await proxy.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 15 s");
            await Task.Delay(100);
        }
    }
}
