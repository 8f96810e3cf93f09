using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PuppeteerSharp;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;

namespace RpcShield.IntegrationTests.Hosting.Ui;

/// <summary>
/// `GET /ui` in a real headless Chromium against a running RpcShield over three anvil nodes, one
/// of them stopped: the page names every upstream with its health and the chain's mode, makes no
/// request off loopback, and with `server.auth_token` set shows nothing without the token.
/// Screenshots land in artifacts/ (gitignored) for a person to look at.
/// </summary>
public sealed class LivePageBrowserTests
{
    private const string Token = "ui-Test-Token-0123456789";

    private readonly ConcurrentQueue<string> _scriptErrors = new();

    [RequiresChromiumFact]
    public async Task The_page_shows_each_upstream_with_its_health_and_the_mode_and_stays_on_loopback()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        await using var titan = await FakeBuilder.StartAsync(BuilderBehaviour.AcceptTitanStyle);
        var yaml = Yaml.Chain(
            [("node-a", a.Url), ("node-b", b.Url), ("node-c", c.Url)],
            extraChain: $"    builders:\n      - {{ name: titan, url: \"{titan.Url}\", timeout: 2s }}\n      - {{ name: down, url: \"{FakeBuilder.DownUrl()}\", timeout: 2s }}",
            extraTop: "signing: { flashbots_key: \"${FLASHBOTS_SIGNING_KEY}\" }");
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, FanoutTests.Env);
        await proxy.WaitRoutableAsync(3);
        // One bundle, so the builder rows have rates to show.
        await FanoutTests.WaitForHeadAsync(proxy);
        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1);
        using (var bundle = await proxy.Client.PostAsync("/", new StringContent(FanoutTests.Bundle([tx], await a.BlockNumberAsync() + 3, 1), System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Contains("bundleHash", await bundle.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        c.Kill();
        await FailoverTests.WaitForAsync(proxy, s => HealthOf(s, "node-c") == "unhealthy" && HealthOf(s, "node-a") == "healthy" && HealthOf(s, "node-b") == "healthy", timeoutMs: 30_000);
        using var load = new CancellationTokenSource();
        var traffic = KeepBusyAsync(proxy, load.Token);

        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var page = await chromium.Browser.NewPageAsync();
        var requests = RecordRequests(page);
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 800 });
        var response = await page.GoToAsync(new Uri(proxy.BaseAddress, "/ui").ToString(), WaitUntilNavigation.Load);
        Assert.Equal(HttpStatusCode.OK, response.Status);

        await WaitAsync(page,
            "() => ['node-a','node-b','node-c'].every(n => document.querySelector(`[data-upstream='${n}'] .pill`))"
            + " && document.querySelector(\"[data-upstream='node-c'] .pill\").dataset.health === 'unhealthy'");
        var shown = await page.EvaluateFunctionAsync<Dictionary<string, string>>(
            "() => Object.fromEntries([...document.querySelectorAll('[data-upstream]')].map(r => [r.dataset.upstream, r.querySelector('.pill').textContent]))");
        Assert.Equal("healthy", shown["node-a"]);
        Assert.Equal("healthy", shown["node-b"]);
        Assert.Equal("unhealthy", shown["node-c"]);
        var mode = await page.EvaluateFunctionAsync<string>("() => document.querySelector(\"[data-chain='test'] [data-mode]\").textContent");
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal(status.GetProperty("chains")[0].GetProperty("mode").GetString(), mode);
        var text = await page.EvaluateFunctionAsync<string>("() => document.body.innerText");
        Assert.Contains("node-a", text, StringComparison.Ordinal);
        Assert.Contains("chaos off", text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, await page.EvaluateFunctionAsync<int>("() => document.querySelectorAll('[data-builder]').length"));

        // A few seconds of history so the sparklines have a line, then the two screenshots.
        await WaitAsync(page, "() => document.querySelectorAll(\"[data-upstream='node-a'] .spark path\").length > 0");
        await Task.Delay(TimeSpan.FromSeconds(6));
        var artifacts = Directory.CreateDirectory(Path.Combine(Tools.RepositoryRoot, "artifacts"));
        await page.ScreenshotAsync(Path.Combine(artifacts.FullName, "ui-1280x800.png"));
        await page.SetViewportAsync(new ViewPortOptions { Width = 390, Height = 844, DeviceScaleFactor = 2, IsMobile = true, HasTouch = true });
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var overflow = await page.EvaluateFunctionAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"at 390 px the page scrolls sideways by {overflow} px");
        await page.ScreenshotAsync(Path.Combine(artifacts.FullName, "ui-390.png"), new ScreenshotOptions { FullPage = true });

        Assert.Empty(_scriptErrors);
        await load.CancelAsync();
        await traffic;
        Assert.NotEmpty(requests);
        Assert.Contains(requests, url => url.AbsolutePath == "/status");
        Assert.All(requests, url => Assert.True(url.Scheme is "data" || IPAddress.IsLoopback(IPAddress.Parse(url.Host)), $"request off loopback: {url}"));
    }

    [RequiresChromiumFact]
    public async Task With_an_auth_token_the_page_is_refused_without_it_and_works_with_it()
    {
        await using var a = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("node-a", a.Url)]).Replace("server: { listen: http://127.0.0.1:0 }", "server: { listen: http://127.0.0.1:0, auth_token: \"${RPCSHIELD_TOKEN}\" }", StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml, environment: name => name == "RPCSHIELD_TOKEN" ? Token : null);

        await using var chromium = await HeadlessChromium.LaunchAsync();
        await using var page = await chromium.Browser.NewPageAsync();
        var requests = RecordRequests(page);
        var refused = await page.GoToAsync(new Uri(proxy.BaseAddress, "/ui").ToString(), WaitUntilNavigation.Load);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.DoesNotContain("node-a", await page.EvaluateFunctionAsync<string>("() => document.body.innerText"), StringComparison.Ordinal);
        var wrong = await page.GoToAsync(new Uri(proxy.BaseAddress, "/ui?token=not-the-token-at-all").ToString(), WaitUntilNavigation.Load);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);

        var accepted = await page.GoToAsync(new Uri(proxy.BaseAddress, $"/ui?token={Token}").ToString(), WaitUntilNavigation.Load);
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        await WaitAsync(page, "() => document.querySelector(\"[data-upstream='node-a'] .pill\") !== null");
        // The token leaves the address bar at once and is sent to /status only as a header.
        Assert.DoesNotContain(Token, page.Url, StringComparison.Ordinal);
        Assert.Single(requests, url => url.Query.Contains(Token, StringComparison.Ordinal));
        Assert.Contains(requests, url => url.AbsolutePath == "/status");

        // Without the token the data behind the page stays closed too.
        using var status = await proxy.Client.GetAsync("/status");
        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
    }

    /// <summary>Every request the page makes (off-loopback ones are aborted); script errors fail the test with their message.</summary>
    private ConcurrentQueue<Uri> RecordRequests(IPage page)
    {
        var seen = new ConcurrentQueue<Uri>();
        page.PageError += (_, e) => _scriptErrors.Enqueue(e.Message);
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                _scriptErrors.Enqueue(e.Message.Text);
            }
        };
        page.SetRequestInterceptionAsync(true).GetAwaiter().GetResult();
        page.Request += async (_, e) =>
        {
            var url = new Uri(e.Request.Url);
            seen.Enqueue(url);
            if (url.Scheme is "data" || IPAddress.TryParse(url.Host, out var ip) && IPAddress.IsLoopback(ip))
            {
                await e.Request.ContinueAsync();
            }
            else
            {
                await e.Request.AbortAsync();
            }
        };
        return seen;
    }

    private async Task WaitAsync(IPage page, string condition)
    {
        try
        {
            await page.WaitForFunctionAsync(condition, new WaitForFunctionOptions { Timeout = 30_000, PollingInterval = 100 });
        }
        catch (WaitTaskTimeoutException)
        {
            var dom = await page.EvaluateFunctionAsync<string>("() => document.body.innerText");
            throw new TimeoutException($"the page never met {condition}; script errors: [{string.Join(" | ", _scriptErrors)}]; page text: {dom}");
        }
    }

    private static async Task KeepBusyAsync(ProxyUnderTest proxy, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await proxy.Client.PostAsJsonAsync("/", new { jsonrpc = "2.0", id = 1, method = "eth_gasPrice", @params = Array.Empty<object>() }, stop);
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string? HealthOf(JsonElement status, string upstream) =>
        status.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray()
            .FirstOrDefault(u => u.GetProperty("name").GetString() == upstream) is { ValueKind: JsonValueKind.Object } u ? u.GetProperty("health").GetString() : null;
}
