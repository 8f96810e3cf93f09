using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Routing;

/// <summary>-32090 when every attempt fails (with secret-free attempts), and client disconnects cancel upstream calls.</summary>
public sealed class NoUpstreamTests
{
    private const string Secret = "SUPERSECRETAPIKEY0123456789";

    /// <summary>Answers probes like a healthy node on chain 31337; every other call gets <paramref name="failure"/>.</summary>
    private static Task<FakeServer> StartNodeAsync(Func<HttpContext, Task> failure) => FakeServer.StartAsync(app =>
    {
        app.MapPost("/v2/{key}", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var method = document.RootElement.GetProperty("method").GetString();
            if (method is "eth_chainId" or "eth_blockNumber")
            {
                var id = document.RootElement.GetProperty("id").GetRawText();
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($$"""{"jsonrpc":"2.0","id":{{id}},"result":"{{(method == "eth_chainId" ? "0x7a69" : "0x10")}}"}""");
                return;
            }

            await failure(context);
        });
    });

    [Fact]
    public async Task When_every_upstream_fails_the_client_gets_32090_with_attempts_and_no_secret()
    {
        await using var http503 = await StartNodeAsync(context =>
        {
            context.Response.StatusCode = 503;
            return context.Response.WriteAsync($"upstream {Secret} overloaded");
        });
        await using var garbage = await StartNodeAsync(context => context.Response.WriteAsync("<html>gateway</html>"));
        var logs = new LogCapture();
        var yaml = Yaml.Chain([("provider-a", $"{http503.Url}/v2/${{KEY}}"), ("provider-b", $"{garbage.Url}/v2/${{KEY}}")]);
        await using var proxy = await ProxyUnderTest.StartAsync(
            yaml,
            environment: name => name == "KEY" ? Secret : Environment.GetEnvironmentVariable(name),
            services: s => s.AddSingleton<ILoggerProvider>(logs),
            minimumLogLevel: LogLevel.Information);

        using var response = await proxy.Client.PostAsync("/", new StringContent("""{"jsonrpc":"2.0","id":"x1","method":"eth_getBalance","params":["0x0000000000000000000000000000000000000000","latest"]}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(-32090, error.GetProperty("code").GetInt32());
        var attempts = error.GetProperty("data").GetProperty("attempts").EnumerateArray()
            .Select(a => (a.GetProperty("upstream").GetString(), a.GetProperty("reason").GetString())).ToList();
        Assert.Contains(("provider-a", "http_503"), attempts);
        Assert.Contains(("provider-b", "invalid_response"), attempts);
        Assert.Equal("x1", JsonDocument.Parse(text).RootElement.GetProperty("id").GetString());

        var status = await proxy.Client.GetStringAsync("/status");
        var metrics = await proxy.Client.GetStringAsync("/metrics");
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, status, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, metrics, StringComparison.Ordinal);
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, line => line.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_upstream_call()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = await StartNodeAsync(async context =>
        {
            arrived.TrySetResult();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                aborted.TrySetResult();
            }
        });
        var yaml = $$"""
            server: { listen: http://127.0.0.1:0 }
            journal: { path: "" }
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - { name: slow, url: "{{slow.Url}}/v2/k" }
                routing:
                  health: { interval: 200ms, timeout: 1s }
                  timeouts: { default: 60s, per_attempt: 60s }
            """;
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);

        using var client = new HttpClient { BaseAddress = proxy.BaseAddress };
        using var cts = new CancellationTokenSource();
        var call = client.PostAsync("/", new StringContent("""{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{},"latest"]}""", Encoding.UTF8, "application/json"), cts.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(aborted.Task.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        // The proxy must abort its own upstream request, not let it run for 30 s.
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
