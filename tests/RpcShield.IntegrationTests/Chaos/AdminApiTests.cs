using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using static RpcShield.IntegrationTests.Chaos.ChaosHttp;

namespace RpcShield.IntegrationTests.Chaos;

public sealed class AdminApiTests
{
    [Fact]
    public async Task Admin_api_requires_the_token_and_manages_rules()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], extraTop: ChaosTop()));
        await proxy.WaitRoutableAsync(1);

        using (var none = await AdminAsync(proxy, HttpMethod.Get, "/admin/chaos/rules", token: null))
        {
            Assert.Equal(401, (int)none.StatusCode);
        }

        using (var wrong = await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/halt", token: "guess"))
        {
            Assert.Equal(401, (int)wrong.StatusCode);
        }

        using (var bad = await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/rules", """{"name":"x","fault":"meteor"}"""))
        {
            Assert.Equal(400, (int)bad.StatusCode);
        }

        using (var added = await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/rules", """{"name":"slow","scope":"client","fault":"jsonrpc_error","methods":["eth_chainId"],"ttl":"1m"}"""))
        {
            Assert.Equal(201, (int)added.StatusCode);
            var rule = await added.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("runtime", rule.GetProperty("source").GetString());
            Assert.True(rule.TryGetProperty("expires_at", out _));
        }

        var list = await (await AdminAsync(proxy, HttpMethod.Get, "/admin/chaos/rules")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(list.EnumerateArray(), r => r.GetProperty("name").GetString() == "slow");

        var (_, faulted, _) = await CallAsync(proxy, "eth_chainId");
        Assert.Equal(-32094, faulted.GetProperty("error").GetProperty("code").GetInt32());

        using (var deleted = await AdminAsync(proxy, HttpMethod.Delete, "/admin/chaos/rules/slow"))
        {
            Assert.Equal(204, (int)deleted.StatusCode);
        }

        var (_, clean, _) = await CallAsync(proxy, "eth_chainId");
        Assert.True(clean.TryGetProperty("result", out _));

        using (var missing = await AdminAsync(proxy, HttpMethod.Delete, "/admin/chaos/rules/slow"))
        {
            Assert.Equal(404, (int)missing.StatusCode);
        }
    }

    [Fact]
    public async Task Admin_api_is_disabled_without_a_configured_token()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)]));
        using var response = await AdminAsync(proxy, HttpMethod.Get, "/admin/chaos");
        Assert.Equal(404, (int)response.StatusCode);
    }
}
