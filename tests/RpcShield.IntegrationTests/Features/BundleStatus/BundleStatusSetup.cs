using System.Numerics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Nethereum.Model;
using Nethereum.Signer;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.BundleStatus;

/// <summary>
/// A real anvil chain (automine: the test plays the block builder by mining), fake builders speaking
/// the builder wire format, and RpcShield in front; helpers to stage each reason a bundle misses.
/// </summary>
internal sealed class BundleStatusSetup : IAsyncDisposable
{
    /// <summary>A contract whose code always reverts (PUSH1 0 PUSH1 0 REVERT), installed with anvil_setCode.</summary>
    public const string Reverter = "0x00000000000000000000000000000000000000ee";
    public const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    public const string OtherCoinbase = "0x00000000000000000000000000000000000000cc";

    private readonly List<IAsyncDisposable> _owned;

    private BundleStatusSetup(AnvilNode anvil, ProxyUnderTest proxy, List<IAsyncDisposable> owned)
    {
        Anvil = anvil;
        Proxy = proxy;
        _owned = owned;
    }

    public AnvilNode Anvil { get; }

    public ProxyUnderTest Proxy { get; }

    /// <param name="builders">YAML builder entries; null: one accepting builder `a`.</param>
    /// <param name="services">Extra service registrations (e.g. a recording journal).</param>
    /// <param name="upstreams">The chain's upstreams (YAML entries, e.g. with `trusted: true`) given the anvil node; null: the anvil node alone.</param>
    public static async Task<BundleStatusSetup> StartAsync(Func<List<IAsyncDisposable>, Task<string[]>>? builders = null, string extraTop = "", Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null,
        Func<AnvilNode, List<IAsyncDisposable>, Task<(string Name, string Url, bool Trusted)[]>>? upstreams = null)
    {
        var anvil = await AnvilNode.StartAsync();
        var owned = new List<IAsyncDisposable>();
        string[] entries;
        if (builders is null)
        {
            var a = await FakeBuilder.StartAsync();
            owned.Add(a);
            entries = [$"{{ name: a, url: \"{a.Url}\", coinbase: \"0x00000000000000000000000000000000000000aa\" }}"];
        }
        else
        {
            entries = await builders(owned);
        }

        (string Name, string Url, bool Trusted)[] chainUpstreams = upstreams is null ? [("node", anvil.Url, false)] : await upstreams(anvil, owned);
        var yaml = FanoutTests.Config(chainUpstreams.Select(u => (u.Name, u.Url)), entries);
        foreach (var (name, url, _) in chainUpstreams.Where(u => u.Trusted))
        {
            yaml = yaml.Replace($"{{ name: {name}, url: \"{url}\" }}", $"{{ name: {name}, url: \"{url}\", trusted: true }}", StringComparison.Ordinal);
        }

        if (extraTop.Length > 0)
        {
            yaml = yaml.Replace("journal: { path: \"\" }", extraTop, StringComparison.Ordinal);
        }

        var proxy = await ProxyUnderTest.StartAsync(yaml, FanoutTests.Env, services);
        await FanoutTests.WaitForHeadAsync(proxy);
        return new BundleStatusSetup(anvil, proxy, owned);
    }

    /// <summary>A signed EIP-1559 call (gas 100k) from anvil's first dev account.</summary>
    public static string Call(long nonce, string to, long maxFeeGwei = 100, string key = AnvilNode.DevKey0) =>
        new Transaction1559Signer().SignTransaction(key, new Transaction1559(
            31337, nonce, maxPriorityFeePerGas: BigInteger.Parse("1000000000"), maxFeePerGas: new BigInteger(maxFeeGwei) * 1_000_000_000,
            gasLimit: 100_000, receiverAddress: to, amount: 0, data: "", accessList: [])) is var hex && hex.StartsWith("0x", StringComparison.Ordinal) ? hex : "0x" + hex;

    public static string BundleParams(string[] txs, long block, string? uuid = null) =>
        $$"""[{"txs":[{{string.Join(',', txs.Select(t => $"\"{t}\""))}}],"blockNumber":"0x{{block:x}}"{{(uuid is null ? "" : $",\"replacementUuid\":\"{uuid}\"")}}}]""";

    public async Task<Rpc.Reply> SendBundleAsync(string[] txs, long block, string? uuid = null) =>
        await Rpc.CallAsync(Proxy, "eth_sendBundle", BundleParams(txs, block, uuid));

    public async Task<string> SendAcceptedAsync(string[] txs, long block, string? uuid = null)
    {
        var reply = await SendBundleAsync(txs, block, uuid);
        Assert.False(reply.IsError, reply.Body.ToString());
        return reply.Result.GetProperty("bundleHash").GetString()!;
    }

    public Task<Rpc.Reply> StatusAsync(string hash, long? target = null) =>
        Rpc.CallAsync(Proxy, "rpcshield_getBundleStatus", target is { } t ? $"[\"{hash}\",\"0x{t:x}\"]" : $"[\"{hash}\"]");

    /// <summary>Mines the target block without the bundle (another builder built it).</summary>
    public async Task MineEmptyAsync()
    {
        await Anvil.CallAsync("anvil_setCoinbase", OtherCoinbase);
        await Anvil.MineAsync(1);
    }

    /// <summary>Waits until the bundle is no longer pending; returns its status and how long after <paramref name="since"/> it was judged.</summary>
    public async Task<(JsonElement Status, TimeSpan After)> WaitJudgedAsync(string hash, long startTimestamp)
    {
        JsonElement status = default;
        await Rpc.WaitUntilAsync(async () =>
        {
            var reply = await StatusAsync(hash);
            status = reply.Result;
            return status.GetProperty("state").GetString() != "pending";
        }, "the bundle to be judged", diagnostics: async () => (await StatusAsync(hash)).Body.ToString());
        return (status, System.Diagnostics.Stopwatch.GetElapsedTime(startTimestamp));
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        await Anvil.DisposeAsync();
    }
}

/// <summary>A builder that holds every answer until the test releases it (a builder answering after the block).</summary>
internal sealed class HeldBuilder : IAsyncDisposable
{
    private readonly FakeServer _server;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HeldBuilder(FakeServer server) => _server = server;

    public string Url => _server.Url;

    public Task Received => _received.Task;

    public static async Task<HeldBuilder> StartAsync()
    {
        HeldBuilder? self = null;
        var server = await FakeServer.StartAsync(app => app.MapPost("/", async (HttpContext context) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var id = document.RootElement.GetProperty("id").GetRawText();
            self!._received.TrySetResult();
            await self._release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"bundleHash\":\"0x01\"}}");
        }));
        self = new HeldBuilder(server);
        return self;
    }

    public void Release() => _release.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        Release();
        await _server.DisposeAsync();
    }
}
