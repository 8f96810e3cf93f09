using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>
/// `server.metrics_listen` opens a real second listener that serves /metrics, /healthz and /readyz
/// (without the client token) and nothing else, while the JSON-RPC listener keeps its token.
/// </summary>
public sealed class MetricsListenTests
{
    private const string Token = "metrics-Listen-Token-42";
    private const string Body = """{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""";

    [Fact]
    public async Task The_second_listener_serves_only_metrics_and_probes_and_the_first_keeps_its_token()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("node", node.Url)]).Replace(
            "server: { listen: http://127.0.0.1:0 }",
            "server: { listen: http://127.0.0.1:0, metrics_listen: \"http://127.0.0.1:0\", auth_token: \"${RPCSHIELD_TOKEN}\" }",
            StringComparison.Ordinal);
        Assert.Contains("metrics_listen", yaml, StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, environment: name => name == "RPCSHIELD_TOKEN" ? Token : null);
        var addresses = proxy.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        Assert.Equal(2, addresses.Count);
        var metricsAddress = Assert.Single(addresses, a => a.Port != proxy.BaseAddress.Port);
        using var metrics = new HttpClient { BaseAddress = metricsAddress, Timeout = TimeSpan.FromSeconds(30) };

        // The JSON-RPC listener serves the bot (with its token), so there is something to count.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(Body, Encoding.UTF8, "application/json") })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var answer = await proxy.Client.SendAsync(request);
            Assert.Contains("0x7a69", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var scrape = await metrics.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            var text = await scrape.Content.ReadAsStringAsync();
            Assert.Contains("rpcshield_requests_total{chain=\"test\",method=\"eth_chainId\"", text, StringComparison.Ordinal);
        }

        using (var healthz = await metrics.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        var ready = HttpStatusCode.ServiceUnavailable;
        while (ready != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            using var readyz = await metrics.GetAsync("/readyz");
            ready = readyz.StatusCode;
            await Task.Delay(ready == HttpStatusCode.OK ? 0 : 100);
        }

        Assert.Equal(HttpStatusCode.OK, ready);

        // Everything else is a 404 there, with the token or without it.
        foreach (var (method, path) in new (HttpMethod, string)[]
        {
            (HttpMethod.Post, "/"), (HttpMethod.Post, "/test"), (HttpMethod.Get, "/status"), (HttpMethod.Get, "/ui"),
            (HttpMethod.Get, "/ui/app.js"), (HttpMethod.Get, "/admin/chaos"), (HttpMethod.Get, "/metrics/x"),
            (HttpMethod.Post, "/metrics"), (HttpMethod.Get, "/test"), (HttpMethod.Get, "/"),
        })
        {
            foreach (var withToken in new[] { false, true })
            {
                using var request = new HttpRequestMessage(method, path + (withToken ? $"?token={Token}" : ""));
                if (method == HttpMethod.Post)
                {
                    request.Content = new StringContent(Body, Encoding.UTF8, "application/json");
                }

                using var response = await metrics.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path} (token: {withToken}) on the metrics listener: {(int)response.StatusCode}");
                Assert.DoesNotContain("0x7a69", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        // The JSON-RPC listener still serves /metrics, and still only with the token.
        using (var refused = await proxy.Client.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var accepted = await proxy.Client.GetAsync($"/metrics?token={Token}"))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }
    }

    [Fact]
    public async Task Without_the_key_there_is_one_listener()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("node", node.Url)]));
        var addresses = proxy.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.Single(addresses);
    }
}
