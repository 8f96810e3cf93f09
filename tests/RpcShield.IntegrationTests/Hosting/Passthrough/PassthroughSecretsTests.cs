using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Hosting.Passthrough;

/// <summary>
/// A passthrough destination is a third party: it gets neither the client's RpcShield token nor a
/// broken URL, and the keys in its own URL never reach a log line.
/// </summary>
public sealed class PassthroughSecretsTests
{
    private const string PathKey = "pathkey0a1b2c3d4e5f6789";
    private const string QueryKey = "querykey9f8e7d6c5b4a3210";
    private const string BeaconAuth = "Bearer beacon-secret-5e6f7a8b9c0d";
    private const string Token = "client-token-1a2b3c4d5e6f7a8b";

    private sealed record Seen(string Path, string Query, string? Authorization);

    [Fact]
    public async Task Destinations_get_correct_urls_their_own_auth_and_never_the_clients_token_and_no_key_is_logged()
    {
        var seen = new ConcurrentQueue<Seen>();
        await using var destination = await FakeServer.StartAsync(app => app.Run(context =>
        {
            seen.Enqueue(new Seen(context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", context.Request.Headers.Authorization.FirstOrDefault()));
            return context.Response.WriteAsync("{}");
        }));
        var logs = new LogCapture();
        var yaml = $$"""
            server: { listen: http://127.0.0.1:0, auth_token: "${TOKEN}" }
            journal: { path: "" }
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - { name: node, url: "http://127.0.0.1:9" }
            passthrough:
              - path: "/beacon/{**rest}"
                destinations: ["{{destination.Url}}/v1/${KEY}?apikey=${QKEY}"]
                headers: { Authorization: "${BEACON_AUTH}" }
                health_path: /eth/v1/node/health
                health_interval: 200ms
              - path: "/plain/{**rest}"
                destinations: ["{{destination.Url}}/v2/${KEY}/"]
            """;
        var environment = new Dictionary<string, string> { ["KEY"] = PathKey, ["QKEY"] = QueryKey, ["BEACON_AUTH"] = BeaconAuth, ["TOKEN"] = Token };
        await using var proxy = await ProxyUnderTest.StartAsync(
            yaml,
            environment: name => environment.GetValueOrDefault(name),
            services: s => s.AddSingleton<ILoggerProvider>(logs),
            minimumLogLevel: LogLevel.Debug);

        // The token as a query parameter (bots that can only set a URL), plus a client attempt at the destination's key.
        using (var response = await proxy.Client.GetAsync($"/beacon/eth/v1/beacon/headers?slot=12&token={Token}&apikey=mine"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var forwarded = seen.Single(s => s.Path.EndsWith("/headers", StringComparison.Ordinal));
        Assert.Equal($"/v1/{PathKey}/eth/v1/beacon/headers", forwarded.Path);
        Assert.Equal($"?apikey={QueryKey}&slot=12", forwarded.Query);
        Assert.Equal(BeaconAuth, forwarded.Authorization);

        // The token as a bearer header, to a route without headers of its own: nothing is forwarded.
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/plain/eth/v1/node/syncing?x=1&Token={Token}"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using var response = await proxy.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var plain = seen.Single(s => s.Path.EndsWith("/syncing", StringComparison.Ordinal));
        Assert.Equal($"/v2/{PathKey}/eth/v1/node/syncing", plain.Path);
        Assert.Equal("?x=1", plain.Query);
        Assert.Null(plain.Authorization);

        // Active health probes are built the same way (path before the destination's query, its headers).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!seen.Any(s => s.Path.EndsWith("/node/health", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no health probe within 20 s");
            await Task.Delay(100);
        }

        var probe = seen.First(s => s.Path.EndsWith("/node/health", StringComparison.Ordinal));
        Assert.Equal($"/v1/{PathKey}/eth/v1/node/health", probe.Path);
        Assert.Equal($"?apikey={QueryKey}", probe.Query);
        Assert.Equal(BeaconAuth, probe.Authorization);

        await proxy.DisposeAsync();
        Assert.NotEmpty(logs.Lines);
        foreach (var secret in (string[])[PathKey, QueryKey, "beacon-secret", Token])
        {
            Assert.DoesNotContain(logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }
}
