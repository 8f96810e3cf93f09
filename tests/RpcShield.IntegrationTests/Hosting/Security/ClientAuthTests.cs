using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Hosting.Security;

/// <summary>`server.auth_token`: Bearer header or `?token=`; anything else gets a 401 JSON-RPC error.</summary>
public sealed class ClientAuthTests
{
    private const string Token = "t0k3n-Very-Secret-42";
    private const string Body = """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""";

    [Fact]
    public async Task Bearer_header_and_token_query_work_and_anything_else_gets_401_without_echoing_the_token()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("node", node.Url)]).Replace("server: { listen: http://127.0.0.1:0 }", "server: { listen: http://127.0.0.1:0, auth_token: \"${RPCSHIELD_TOKEN}\" }", StringComparison.Ordinal);
        Assert.Contains("auth_token", yaml, StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, environment: name => name == "RPCSHIELD_TOKEN" ? Token : null);

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = Json() })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await proxy.Client.SendAsync(request);
            Assert.Contains("0x7a69", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var response = await proxy.Client.PostAsync($"/test?token={Token}", Json()))
        {
            Assert.Contains("0x7a69", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var (path, authorization) in new (string, string?)[]
        {
            ("/", null),
            ("/", "Bearer wrong"),
            ("/", $"Basic {Token}"),
            ("/", $"Bearer {Token}x"),
            ("/?token=nope", null),
            ($"/?token={Token[..^1]}", null),
            ("/status", null),
            ("/metrics", null),
        })
        {
            using var request = new HttpRequestMessage(path is "/status" or "/metrics" ? HttpMethod.Get : HttpMethod.Post, path);
            if (request.Method == HttpMethod.Post)
            {
                request.Content = Json();
            }

            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await proxy.Client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(JsonDocument.Parse(text).RootElement.TryGetProperty("error", out _), text);
            Assert.DoesNotContain(Token[..8], text, StringComparison.Ordinal);
            Assert.DoesNotContain(Token[..8], response.Headers.ToString(), StringComparison.Ordinal);
        }

        // Liveness and readiness stay open for orchestrators.
        using (var healthz = await proxy.Client.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        }

        using var readyz = await proxy.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, readyz.StatusCode);

        using var withToken = new HttpRequestMessage(HttpMethod.Get, "/status");
        withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var status = await proxy.Client.SendAsync(withToken);
        var statusText = await status.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.DoesNotContain(Token, statusText, StringComparison.Ordinal);
    }

    private static StringContent Json() => new(Body, Encoding.UTF8, "application/json");
}
