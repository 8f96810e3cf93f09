using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Hosting.Security;

/// <summary>
/// Attack: a chain named like one of RpcShield's own paths (`healthz`, `admin`) used to be served
/// without `server.auth_token`. Such names are now config errors; and even when a host is built
/// from such options directly (validation bypassed), auth follows the endpoint, not the path.
/// </summary>
public sealed class ReservedPathAuthTests
{
    private const string Token = "reserved-path-token-0123456789";
    private const string Body = """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""";

    [Theory]
    [InlineData("healthz")]
    [InlineData("readyz")]
    [InlineData("admin")]
    [InlineData("ui")]
    [InlineData("v1")]
    public void A_chain_named_like_an_rpcshield_path_is_a_config_error(string name)
    {
        var result = ConfigLoader.LoadText(Yaml.Chain([("node", "http://127.0.0.1:9")]).Replace("- name: test", $"- name: {name}", StringComparison.Ordinal));
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == "chains[0].name" && e.Message.Contains("reserved", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Chains_named_healthz_and_admin_still_need_the_token_over_http_and_websocket()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("node", node.Url)]).Replace("server: { listen: http://127.0.0.1:0 }", $"server: {{ listen: http://127.0.0.1:0, auth_token: \"{Token}\" }}", StringComparison.Ordinal);
        var loaded = ConfigLoader.LoadText(yaml);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        // Bypass validation as an old or hand-built config would: two chains on reserved paths.
        var first = loaded.Options!.Chains[0];
        var options = loaded.Options! with
        {
            Chains = [first with { Name = "healthz" }, new ChainOptions { Name = "admin", ChainId = 31337, Upstreams = first.Upstreams, Routing = first.Routing }],
        };
        await using var app = RpcShieldHost.Build(options, null, new HostSettings { ListenOverride = "http://127.0.0.1:0" });
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = app.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) };

            foreach (var path in (string[])["/healthz", "/admin", "/healthz/", "/"])
            {
                using var anonymous = await client.PostAsync(path, Json());
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            }

            // The probes themselves stay open, and the token serves the chains.
            using (var probe = await client.GetAsync("/healthz"))
            {
                Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
                Assert.Equal("ok", await probe.Content.ReadAsStringAsync());
            }

            using (var request = new HttpRequestMessage(HttpMethod.Post, "/admin") { Content = Json() })
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
                using var served = await client.SendAsync(request);
                Assert.Contains("0x7a69", await served.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            var ws = new UriBuilder(app.BoundAddress()) { Scheme = "ws", Path = "/admin" }.Uri;
            using (var socket = new ClientWebSocket())
            {
                socket.Options.CollectHttpResponseDetails = true;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(ws, timeout.Token));
                Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
            }

            using (var socket = new ClientWebSocket())
            {
                socket.Options.SetRequestHeader("Authorization", $"Bearer {Token}");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await socket.ConnectAsync(ws, timeout.Token);
                Assert.Equal(WebSocketState.Open, socket.State);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static StringContent Json() => new(Body, Encoding.UTF8, "application/json");
}
