using System.Net.Http.Json;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Nethereum.Model;
using Nethereum.Signer;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Sandbox;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>
/// A real sandbox network (anvil, node endpoints and builders on ephemeral loopback ports) and a real
/// RpcShield host over it, composed exactly as `rpcshield sandbox` does (control API included).
/// </summary>
internal sealed class SandboxUnderTest : IAsyncDisposable
{
    public static readonly string[] Coinbases =
        ["0x00000000000000000000000000000000000b0a01", "0x00000000000000000000000000000000000b0a02", "0x00000000000000000000000000000000000b0a03"];

    private int _id;

    private SandboxUnderTest(SandboxNetwork network, WebApplication? app, HttpClient? client)
    {
        Network = network;
        App = app;
        Proxy = client!;
    }

    public SandboxNetwork Network { get; }

    public WebApplication? App { get; }

    /// <summary>HTTP client on RpcShield's listener (JSON-RPC, /status, /metrics, /sandbox).</summary>
    public HttpClient Proxy { get; }

    public static HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// On a loaded runner the start-up probe round can time out on every node (one anvil behind
    /// them, still starting): the chain then starts minimal, as it should, and recovers after
    /// `min_time_in_mode` (10 s). Tests of bundles and sends start from a chain in full mode.
    /// </summary>
    private static async Task WaitForFullModeAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await client.GetFromJsonAsync<JsonElement>("/status");
            if (status.GetProperty("chains")[0].GetProperty("mode").GetString() == "full")
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the sandbox chain did not reach full mode: " + status);
            }

            await Task.Delay(100);
        }
    }

    public static async Task<SandboxUnderTest> StartAsync(
        TimeSpan? slot = null, bool autoSeal = false, bool requireSignature = false, double[]? weights = null, bool withProxy = true, int seed = 7, string? signingKey = null)
    {
        weights ??= [1, 1, 1];
        var options = new SandboxOptions
        {
            Slot = slot ?? TimeSpan.FromSeconds(1),
            AnvilPort = 0,
            Nodes = [new() { Name = "node-a", Port = 0 }, new() { Name = "node-b", Port = 0 }, new() { Name = "node-c", Port = 0 }],
            Builders = [.. weights.Select((w, i) => new SandboxBuilderOptions
            {
                Name = $"builder-{(char)('a' + i)}",
                Port = 0,
                Weight = w,
                Coinbase = Coinbases[i],
                RequireSignature = requireSignature,
            })],
        };
        var network = await SandboxNetwork.StartAsync(options, 31337, new SandboxSettings { AnvilPath = Tools.Anvil, AutoSeal = autoSeal, Random = new Random(seed) });
        if (!withProxy)
        {
            return new SandboxUnderTest(network, null, null);
        }

        try
        {
            var builders = string.Join("\n", network.Builders.Select((b, i) =>
                $"      - {{ name: {b.Name}, url: \"http://127.0.0.1:{b.Port}\", timeout: 2s, coinbase: \"{Coinbases[i]}\", sign: {(signingKey is null ? "false" : "true")} }}"));
            // The key reaches RpcShield only through the environment, as in production.
            Func<string, string?> environment = name => name == "SANDBOX_TEST_SIGNING_KEY" ? signingKey : null;
            var yaml = Yaml.Chain(network.Nodes.Select(n => (n.Name, $"http://127.0.0.1:{n.Port}")), extraChain: "    builders:\n" + builders,
                extraTop: signingKey is null ? "" : "signing: { flashbots_key: \"${SANDBOX_TEST_SIGNING_KEY}\" }");
            var result = ConfigLoader.LoadText(yaml, environment);
            Assert.True(result.IsValid, string.Join("; ", result.Errors));
            var app = SandboxCommand.Build(result.Options!, null, network, new HostSettings { ListenOverride = "http://127.0.0.1:0", MinimumLogLevel = LogLevel.Warning, Environment = environment });
            await app.StartAsync();
            var client = new HttpClient { BaseAddress = app.BoundAddress(), Timeout = TimeSpan.FromSeconds(30) };
            await WaitForFullModeAsync(client);
            return new SandboxUnderTest(network, app, client);
        }
        catch
        {
            // A proxy that failed to start must not leave the sandbox's anvil behind.
            await network.DisposeAsync();
            throw;
        }
    }

    public string NodeUrl(string name) => $"http://127.0.0.1:{Network.Node(name)!.Port}/";

    public string BuilderUrl(string name) => $"http://127.0.0.1:{Network.Builder(name)!.Port}/";

    /// <summary>JSON-RPC through RpcShield; returns the whole response object and the upstream that served it.</summary>
    public async Task<(JsonElement Body, string? Upstream, HttpResponseMessage Response)> RpcAsync(string method, string paramsJson = "[]")
    {
        var body = $$"""{"jsonrpc":"2.0","id":{{Interlocked.Increment(ref _id)}},"method":"{{method}}","params":{{paramsJson}}}""";
        var response = await Proxy.PostAsync("/", new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        var upstream = response.Headers.TryGetValues("X-RpcShield-Upstream", out var values) ? values.Single() : null;
        return (json, upstream, response);
    }

    /// <summary>JSON-RPC straight to a URL (a node endpoint, a builder, the anvil).</summary>
    public static async Task<JsonElement> CallAsync(string url, string method, string paramsJson = "[]")
    {
        var body = $$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{paramsJson}}}""";
        using var response = await Http.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public Task<JsonElement> AnvilAsync(string method, string paramsJson = "[]") => CallAsync(Network.AnvilUrl.ToString(), method, paramsJson);

    public async Task<long> HeadAsync() => Convert.ToInt64((await AnvilAsync("eth_blockNumber")).GetProperty("result").GetString(), 16);

    public async Task<BigInteger> BalanceAsync(string address) =>
        BigInteger.Parse("0" + (await AnvilAsync("eth_getBalance", $"[\"{address}\",\"latest\"]")).GetProperty("result").GetString()![2..], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A signed EIP-1559 transaction (anvil dev key) and its hash.</summary>
    public static (string Raw, string Hash) Tx(string key, long nonce, string to, BigInteger value, long gas = 100_000, long priorityGwei = 1, long maxFeeGwei = 100)
    {
        var gwei = new BigInteger(1_000_000_000);
        var raw = new Transaction1559Signer().SignTransaction(key, new Transaction1559(31337, nonce, priorityGwei * gwei, maxFeeGwei * gwei, gas, to, value, "", []));
        raw = raw.StartsWith("0x", StringComparison.Ordinal) ? raw : "0x" + raw;
        return (raw, SandboxBundleHash.TxHash(raw));
    }

    public static string Bundle(long block, params string[] txs) =>
        $"[{{\"txs\":[{string.Join(',', txs.Select(t => $"\"{t}\""))}],\"blockNumber\":\"0x{block:x}\"}}]";

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            Proxy.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }

        await Network.DisposeAsync();
    }
}

/// <summary>Hashes as builders compute them.</summary>
internal static class SandboxBundleHash
{
    public static string TxHash(string raw) => SandboxBundle.TxHash(raw);
}
