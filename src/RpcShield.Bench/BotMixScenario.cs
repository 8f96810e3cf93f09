using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;

namespace RpcShield.Bench;

/// <summary>One path of the bot mix at one connection count.</summary>
internal sealed record BotMixRow(string Path, int Connections, LoadResult Load);

/// <summary>
/// `botmix`: a searcher's read mix (25 % eth_blockNumber, 10 % eth_chainId, 10 % latest block,
/// 20 % eth_call at latest over 4 calldatas, 10 % nonce, 10 % balance, 10 % old receipts, 5 % an
/// old block with transactions) against a real anvil mining a block a second: direct, through
/// RpcShield (cache on, newHeads over the node's WebSocket), nginx, HAProxy and Caddy when installed.
/// </summary>
internal static class BotMixScenario
{
    public static async Task<List<BotMixRow>> RunAsync(int[] connectionCounts, TimeSpan duration, TextWriter log)
    {
        var port = ExtraHop.FreePort();
        var anvilUrl = $"http://127.0.0.1:{port}";
        using var anvil = Process.Start(new ProcessStartInfo(FindAnvil(), $"--port {port} --block-time 1 --silent") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var rows = new List<BotMixRow>();
        List<ExtraHop> hops = [];
        try
        {
            using var client = new HttpClient();
            await WaitForAsync(client, anvilUrl).ConfigureAwait(false);
            var history = await PrepareHistoryAsync(client, anvilUrl).ConfigureAwait(false);
            var bodies = Mix(history);
            log.WriteLine($"[botmix] anvil at block {history.Head}: {history.Receipts.Count} old receipts in block {history.BlockWithTxs}, {bodies.Count} bodies in the cycle");

            await using var proxy = await StartProxyAsync(anvilUrl, $"ws://127.0.0.1:{port}").ConfigureAwait(false);
            hops = await ExtraHop.StartAllAsync(port).ConfigureAwait(false);
            var paths = new List<(string Name, string Url)> { ("direct", anvilUrl + "/"), ("RpcShield", proxy.BoundAddress().ToString()) };
            paths.AddRange(hops.Select(h => (h.Name, h.Url)));
            foreach (var connections in connectionCounts)
            {
                foreach (var (name, url) in paths)
                {
                    log.WriteLine($"[botmix] {name}, {connections} connections…");
                    await WrkMix.RunAsync(url, bodies, connections, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                    rows.Add(new BotMixRow(name, connections, await WrkMix.RunAsync(url, bodies, connections, duration).ConfigureAwait(false)));
                }
            }
        }
        finally
        {
            await ExtraHop.DisposeAllAsync(hops).ConfigureAwait(false);
            anvil.Kill(entireProcessTree: true);
            await anvil.WaitForExitAsync().ConfigureAwait(false);
        }

        return rows;
    }

    public static void Print(IReadOnlyList<BotMixRow> rows, TextWriter output)
    {
        if (rows.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine("| botmix | connections | req/s | p50 ms | p90 ms | p99 ms | errors | vs nginx req/s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            var nginx = rows.FirstOrDefault(r => r.Path == "nginx" && r.Connections == row.Connections);
            var ratio = nginx is null ? "–" : Fmt.N(row.Load.RequestsPerSecond / nginx.Load.RequestsPerSecond, "0.00") + "×";
            output.WriteLine($"| {row.Path} | {row.Connections} | {Fmt.N(row.Load.RequestsPerSecond, "0")} | {Fmt.N(row.Load.P50Ms, "0.000")} | {Fmt.N(row.Load.P90Ms, "0.000")} | {Fmt.N(row.Load.P99Ms, "0.000")} | {row.Load.Errors} | {ratio} |");
        }
    }

    private sealed record History(long Head, long BlockWithTxs, List<string> Receipts);

    /// <summary>4 transactions in one block, then 80 more blocks: that block and its receipts are final (anvil's finalized = head − 64).</summary>
    private static async Task<History> PrepareHistoryAsync(HttpClient client, string url)
    {
        const string from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        var hashes = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var to = "0x" + (0xbee0 + i).ToString("x40", CultureInfo.InvariantCulture);
            hashes.Add((await CallAsync(client, url, "eth_sendTransaction", $$"""[{"from":"{{from}}","to":"{{to}}","value":"0x1"}]""").ConfigureAwait(false)).GetString()!);
        }

        await CallAsync(client, url, "evm_mine", "[]").ConfigureAwait(false);
        var receipt = await CallAsync(client, url, "eth_getTransactionReceipt", $"[\"{hashes[0]}\"]").ConfigureAwait(false);
        var block = Hex(receipt.GetProperty("blockNumber").GetString()!);
        await CallAsync(client, url, "anvil_mine", "[\"0x50\"]").ConfigureAwait(false);
        var head = Hex((await CallAsync(client, url, "eth_blockNumber", "[]").ConfigureAwait(false)).GetString()!);
        return new History(head, block, hashes);
    }

    /// <summary>100 bodies in the issue's proportions, interleaved so every stretch of the cycle is the mix.</summary>
    private static List<string> Mix(History history)
    {
        const string from = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        var kinds = new List<(int Weight, Func<int, string> Body)>
        {
            (25, _ => Body("eth_blockNumber", "[]")),
            (10, _ => Body("eth_chainId", "[]")),
            (10, _ => Body("eth_getBlockByNumber", "[\"latest\",false]")),
            (20, i => Body("eth_call", $$"""[{"to":"0x000000000000000000000000000000000000bee0","data":"0x0{{i % 4}}"},"latest"]""")),
            (10, _ => Body("eth_getTransactionCount", $"[\"{from}\",\"latest\"]")),
            (10, _ => Body("eth_getBalance", $"[\"{from}\",\"latest\"]")),
            (10, i => Body("eth_getTransactionReceipt", $"[\"{history.Receipts[i % history.Receipts.Count]}\"]")),
            (5, _ => Body("eth_getBlockByNumber", $"[\"0x{history.BlockWithTxs:x}\",true]")),
        };
        var bodies = new List<string>();
        var counters = new int[kinds.Count];
        for (var slot = 0; slot < 100; slot++)
        {
            // Largest remaining share first (a smooth weighted round-robin).
            var pick = Enumerable.Range(0, kinds.Count).MaxBy(k => (kinds[k].Weight * (slot + 1) / 100.0) - counters[k]);
            bodies.Add(kinds[pick].Body(counters[pick]++));
        }

        return bodies;

        static string Body(string method, string parameters) => $$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{parameters}}}""";
    }

    private static async Task<WebApplication> StartProxyAsync(string url, string wsUrl)
    {
        var yaml = $$"""
            server: { listen: http://127.0.0.1:0 }
            journal: { path: "" }
            chains:
              - name: bench
                chain_id: 31337
                upstreams:
                  - { name: anvil, url: "{{url}}", ws_url: "{{wsUrl}}" }
                routing:
                  health: { interval: 1s, timeout: 1s, fail_after: 1000000, recover_after: 1 }
            """;
        var app = await ScenarioRunner.StartHostAsync(yaml).ConfigureAwait(false);
        // Let the newHeads subscription come up (eth_blockNumber is then answered locally).
        await Task.Delay(2000).ConfigureAwait(false);
        return app;
    }

    private static async Task WaitForAsync(HttpClient client, string url)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                await CallAsync(client, url, "eth_blockNumber", "[]").ConfigureAwait(false);
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException("anvil did not start");
    }

    private static async Task<JsonElement> CallAsync(HttpClient client, string url, string method, string parameters)
    {
        using var content = new StringContent($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{parameters}}}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(url, content).ConfigureAwait(false);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false);
        return body.TryGetProperty("result", out var result) ? result.Clone() : throw new InvalidOperationException($"{method}: {body}");
    }

    private static long Hex(string value) => long.Parse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static string FindAnvil()
    {
        if (Environment.GetEnvironmentVariable("RPCSHIELD_ANVIL") is { Length: > 0 } fromEnv && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".tools", "anvil");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("anvil not found: run scripts/install-deps.sh (or set RPCSHIELD_ANVIL)");
    }
}
