using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>A real RpcShield host on a real Kestrel listener (127.0.0.1, ephemeral port).</summary>
internal sealed class ProxyUnderTest : IAsyncDisposable
{
    private ProxyUnderTest(WebApplication app, Uri baseAddress, string? configPath)
    {
        App = app;
        BaseAddress = baseAddress;
        ConfigPath = configPath;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public string? ConfigPath { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Starts RpcShield from YAML text (written to a temp file so reload can be tested).</summary>
    public static async Task<ProxyUnderTest> StartAsync(string yaml, Func<string, string?>? environment = null, Action<IServiceCollection>? services = null, LogLevel minimumLogLevel = LogLevel.Warning)
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-test-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, yaml).ConfigureAwait(false);
        var result = ConfigLoader.LoadText(yaml, environment);
        if (!result.IsValid)
        {
            throw new InvalidOperationException("test config invalid: " + string.Join("; ", result.Errors));
        }

        var app = RpcShieldHost.Build(result.Options!, path, new HostSettings
        {
            ListenOverride = "http://127.0.0.1:0",
            Environment = environment,
            MinimumLogLevel = minimumLogLevel,
            ConfigureServices = services,
        });
        await app.StartAsync().ConfigureAwait(false);
        return new ProxyUnderTest(app, app.BoundAddress(), path);
    }

    /// <summary>
    /// Waits until the first chain ranks at least <paramref name="count"/> upstreams (its probes
    /// answered): on a loaded runner the start-up probe round can miss its timeout, and a test about
    /// routing then starts from a chain that has not found its upstreams yet.
    /// </summary>
    public async Task WaitRoutableAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            var status = await Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/status").ConfigureAwait(false);
            if (status.GetProperty("chains")[0].GetProperty("ranking").GetArrayLength() >= count)
            {
                return;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        throw new TimeoutException($"fewer than {count} upstreams became routable");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
        if (ConfigPath is not null)
        {
            File.Delete(ConfigPath);
        }
    }
}
