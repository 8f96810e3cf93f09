using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>Real anvil nodes (with `ws_url`) behind a real RpcShield, plus a journal that records in memory.</summary>
internal sealed class SubscriptionBed : IAsyncDisposable
{
    private SubscriptionBed(AnvilNode[] nodes, ProxyUnderTest proxy, CapturingJournal journal)
    {
        Nodes = nodes;
        Proxy = proxy;
        Journal = journal;
    }

    public AnvilNode[] Nodes { get; }

    public ProxyUnderTest Proxy { get; }

    public CapturingJournal Journal { get; }

    public static string Name(int index) => ((char)('a' + index)).ToString();

    public AnvilNode Node(string name) => Nodes[name[0] - 'a'];

    public static async Task<SubscriptionBed> StartAsync(int nodes, int? blockTimeSeconds = 1, string subscriptions = "{ block_time: 1s, stall_after: 3 }", string health = "{ interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2, max_block_lag: 3 }", string websocket = "{}", string serverExtra = "", Func<AnvilNode[], Task>? prepare = null)
    {
        var started = await Task.WhenAll(Enumerable.Range(0, nodes).Select(_ => AnvilNode.StartAsync(blockTimeSeconds: blockTimeSeconds)));
        if (prepare is not null)
        {
            await prepare(started);
        }

        var upstreams = string.Join("\n", started.Select((n, i) => $"      - {{ name: {Name(i)}, url: \"{n.Url}\", ws_url: \"{n.WsUrl}\" }}"));
        var yaml = $"""
            server: {"{"} listen: http://127.0.0.1:0, websocket: {websocket}{serverExtra} {"}"}
            journal: {"{"} path: "" {"}"}
            chains:
              - name: test
                chain_id: 31337
                upstreams:
            {upstreams}
                routing:
                  health: {health}
                  timeouts: {"{"} default: 10s, per_attempt: 1500ms {"}"}
                  retries: 2
                  subscriptions: {subscriptions}
            """;
        var journal = new CapturingJournal();
        var proxy = await ProxyUnderTest.StartAsync(yaml, services: s => s.AddSingleton<IFailureJournal>(journal));
        var bed = new SubscriptionBed(started, proxy, journal);
        await bed.WaitForAsync(s => s.GetProperty("chains")[0].GetProperty("ranking").GetArrayLength() == nodes);
        return bed;
    }

    public async Task<JsonElement> StatusAsync() => await Proxy.Client.GetFromJsonAsync<JsonElement>("/status");

    /// <summary>The upstream currently serving the chain's first subscription feed (null while switching).</summary>
    public async Task<string?> ServingAsync()
    {
        var feeds = (await StatusAsync()).GetProperty("chains")[0].GetProperty("subscriptions").GetProperty("feeds");
        return feeds.GetArrayLength() == 0 ? null : feeds[0].GetProperty("upstream").GetString();
    }

    public async Task<string> WaitForServingAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            if (await ServingAsync() is { } serving)
            {
                return serving;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("no upstream subscription established");
    }

    public async Task WaitForAsync(Func<JsonElement, bool> condition, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        JsonElement status = default;
        while (DateTime.UtcNow < deadline)
        {
            status = await StatusAsync();
            if (condition(status))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail("condition not reached; last status: " + status);
    }

    public async Task<double> MetricAsync(string series)
    {
        var text = await Proxy.Client.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }
}

internal sealed class CapturingJournal : IFailureJournal
{
    private readonly List<JournalEntry> _entries = [];

    public IReadOnlyList<JournalEntry> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public void Record(JournalEntry entry)
    {
        lock (_entries)
        {
            _entries.Add(entry);
        }
    }
}
