using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace RpcShield.DemoBot;

/// <summary>
/// The demo searcher: reads steadily, sends one bundle per slot (a transaction paying the block's
/// coinbase) through RpcShield's builder fan-out, and prints per block whether it landed and which
/// builder built the block. Against the sandbox it also stops, lags and stalls nodes on a schedule
/// so failover shows up in the output.
/// </summary>
internal sealed class Bot(BotOptions options, HttpClient http, TextWriter output)
{
    private static readonly BigInteger Gwei = 1_000_000_000;
    private static readonly BigInteger Wei = BigInteger.Pow(10, 18);

    private readonly RpcClient _rpc = new(http, options.Rpc);
    private readonly Wallet _wallet = new(options.Key);
    private readonly Dictionary<string, string> _builderByCoinbase = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _landedBy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _reasons = new(StringComparer.Ordinal);
    private int _reported;
    private string? _tipper;
    private int _sent;
    private int _rejected;
    private int _included;
    private int _lost;
    private int _notIncluded;

    private sealed record PendingBundle(long Target, string BundleHash, string TxHash, BigInteger Nonce, bool Raced)
    {
        public string? Builders { get; init; }
    }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        BigInteger chainId;
        long head;
        try
        {
            chainId = RpcClient.Quantity(await _rpc.ResultAsync("eth_chainId", "[]", cancellationToken));
            head = (long)RpcClient.Quantity(await _rpc.ResultAsync("eth_blockNumber", "[]", cancellationToken));
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            await output.WriteLineAsync($"demo-bot: cannot reach RpcShield at {options.Rpc}: {ex.Message}");
            return 1;
        }

        var sandbox = await LoadSandboxAsync(cancellationToken);
        await output.WriteLineAsync($"demo-bot: account {_wallet.Address} on chain {chainId} via {options.Rpc}; " +
            (sandbox ? $"sandbox with builders {string.Join(", ", _builderByCoinbase.Values)}" : "no sandbox control API (chaos off)") +
            $"; tip {options.TipEther} ETH per bundle to block.coinbase");

        var reads = new ReadLoad(_rpc, _wallet.Address, options.ReadsPerSecond);
        var readTask = reads.RunAsync(cancellationToken);
        var chaos = new ChaosSchedule(http, options.Rpc, output, enabled: sandbox && options.Chaos);
        PendingBundle? pending = null;
        var slot = 0;
        try
        {
            // The first bundle goes out at the first fresh head (the head read at start-up may be stale by then).
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(100, cancellationToken);
                var answer = await _rpc.CallAsync("eth_blockNumber", "[]", cancellationToken);
                if (!answer.Ok)
                {
                    continue;
                }

                var newHead = (long)RpcClient.Quantity(answer.Result!.Value);
                if (newHead <= head)
                {
                    continue;
                }

                head = newHead;
                if (pending is not null && pending.Target <= head)
                {
                    await ReportAsync(pending, reads.TakeSlotSummary(), cancellationToken);
                    pending = null;
                }

                await chaos.StepAsync(slot, cancellationToken);
                pending = await SendBundleAsync(chainId, head, ++slot, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await readTask;
        await chaos.HealAllAsync();
        await PrintTotalsAsync(reads);
        return options.RequireLanded && _included == 0 ? 1 : 0;
    }

    private async Task<bool> LoadSandboxAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(options.Rpc, "sandbox"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            _tipper = document.RootElement.GetProperty("coinbase_tipper").GetString();
            foreach (var builder in document.RootElement.GetProperty("builders").EnumerateArray())
            {
                _builderByCoinbase[builder.GetProperty("coinbase").GetString()!] = builder.GetProperty("name").GetString()!;
            }

            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    private async Task<PendingBundle?> SendBundleAsync(BigInteger chainId, long head, int slot, CancellationToken cancellationToken)
    {
        var target = head + 1;
        var nonce = RpcClient.Quantity(await _rpc.ResultAsync("eth_getTransactionCount", $"[\"{_wallet.Address}\",\"latest\"]", cancellationToken));
        var baseFee = RpcClient.Quantity(await _rpc.ResultAsync("eth_gasPrice", "[]", cancellationToken));
        var tip = new BigInteger(options.TipEther * 1_000_000) * (Wei / 1_000_000);
        // Without the tipper contract (not a sandbox) the priority fee is what pays the coinbase.
        var (raw, hash) = _tipper is not null
            ? _wallet.Sign(chainId, nonce, Gwei, baseFee * 2 + Gwei, 100_000, _tipper, tip)
            : _wallet.Sign(chainId, nonce, 2 * Gwei, baseFee * 2 + 2 * Gwei, 21_000, _wallet.Address, 0);

        var raced = options.CompeteEvery > 0 && slot % options.CompeteEvery == 0;
        if (raced)
        {
            // A competing transaction with the same nonce and a higher fee goes to the public mempool first.
            var (competitor, competitorHash) = _wallet.Sign(chainId, nonce, 5 * Gwei, baseFee * 2 + 5 * Gwei, 21_000, _wallet.Address, 0);
            var sent = await _rpc.CallAsync("eth_sendRawTransaction", $"[\"{competitor}\"]", cancellationToken);
            await output.WriteLineAsync($"  » a competitor sends {Short(competitorHash)} with our nonce {nonce} and a higher fee ({(sent.Ok ? "in the mempool" : sent.Error)})");
        }

        var answer = await _rpc.CallAsync("eth_sendBundle", $"[{{\"txs\":[\"{raw}\"],\"blockNumber\":\"{RpcClient.Hex(target)}\"}}]", cancellationToken);
        _sent++;
        if (!answer.Ok)
        {
            _rejected++;
            await output.WriteLineAsync($"block {target,6}  bundle rejected: {answer.Error}" + (answer.Builders is null ? "" : $" [{answer.Builders}]"));
            // The refusal (-32602 past block, -32095 every builder failed) carries data.bundleHash: ask RpcShield why.
            var rejectedHash = answer.ErrorData is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("bundleHash", out var h0) ? h0.GetString() : null;
            var (state, reason, _) = rejectedHash is null ? (null, null, null) : await BundleStatusAsync(rejectedHash, target, cancellationToken);
            await ReportOutcomeAsync(target, rejectedHash, state, reason ?? "not_received", cancellationToken);
            return null;
        }

        var bundleHash = answer.Result!.Value.ValueKind == JsonValueKind.Object && answer.Result.Value.TryGetProperty("bundleHash", out var h) ? h.GetString() ?? "?" : "?";
        return new PendingBundle(target, bundleHash, hash, nonce, raced) { Builders = answer.Builders };
    }

    private async Task ReportAsync(PendingBundle bundle, string reads, CancellationToken cancellationToken)
    {
        var block = await _rpc.ResultAsync("eth_getBlockByNumber", $"[\"{RpcClient.Hex(bundle.Target)}\",false]", cancellationToken);
        var miner = block.ValueKind == JsonValueKind.Object ? block.GetProperty("miner").GetString() ?? "?" : "?";
        var builder = _builderByCoinbase.TryGetValue(miner, out var name) ? name : Short(miner);
        var receipt = await _rpc.CallAsync("eth_getTransactionReceipt", $"[\"{bundle.TxHash}\"]", cancellationToken);
        string verdict;
        if (receipt.Result is { ValueKind: JsonValueKind.Object } r && (long)RpcClient.Quantity(r.GetProperty("blockNumber")) == bundle.Target)
        {
            _included++;
            _landedBy[builder] = _landedBy.GetValueOrDefault(builder) + 1;
            verdict = $"INCLUDED   tip {options.TipEther} ETH -> {builder}";
        }
        else
        {
            var count = RpcClient.Quantity(await _rpc.ResultAsync("eth_getTransactionCount", $"[\"{_wallet.Address}\",\"{RpcClient.Hex(bundle.Target)}\"]", cancellationToken));
            var countBefore = RpcClient.Quantity(await _rpc.ResultAsync("eth_getTransactionCount", $"[\"{_wallet.Address}\",\"{RpcClient.Hex(bundle.Target - 1)}\"]", cancellationToken));
            if (countBefore > bundle.Nonce)
            {
                // The nonce was already used before the target block: the nonce we read was stale (a lagging node?).
                _lost++;
                verdict = "LOST       stale nonce (read from a lagging node?)";
            }
            else if (count > bundle.Nonce)
            {
                _lost++;
                verdict = "LOST       a same-nonce transaction landed first";
            }
            else
            {
                _notIncluded++;
                verdict = $"not included ({builder} did not take it)";
            }
        }

        var (state, reason, detail) = await BundleStatusAsync(bundle.BundleHash, bundle.Target, cancellationToken);
        var why = reason is null ? "" : $" | why: {reason}" + (detail is null ? "" : $" ({Clip(detail, 90)})");
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"block {bundle.Target,6}  built by {builder,-10} bundle {Short(bundle.BundleHash)}  {verdict,-36} | sent to [{bundle.Builders ?? "-"}] | {reads}{why}"));
        await ReportOutcomeAsync(bundle.Target, bundle.BundleHash, state, reason, cancellationToken);
    }

    /// <summary>
    /// RpcShield's own verdict (`rpcshield_getBundleStatus`): state and reason from evidence. The judge
    /// runs just after the target block, so a pending answer is asked again briefly.
    /// </summary>
    private async Task<(string? State, string? Reason, string? Detail)> BundleStatusAsync(string bundleHash, long target, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 15; attempt++)
        {
            var answer = await _rpc.CallAsync("rpcshield_getBundleStatus", $"[\"{bundleHash}\",\"{RpcClient.Hex(target)}\"]", cancellationToken);
            if (!answer.Ok || answer.Result is not { ValueKind: JsonValueKind.Object } status)
            {
                return (null, null, null);
            }

            var state = status.GetProperty("state").GetString();
            if (state != "pending")
            {
                var reason = status.GetProperty("reason").GetString();
                if (reason is not null)
                {
                    _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
                }

                return (state, reason, status.GetProperty("detail").GetString());
            }

            await Task.Delay(150, cancellationToken);
        }

        return ("pending", null, null);
    }

    /// <summary>Tells RpcShield how the opportunity ended (`rpcshield_reportOutcome`), so `rpcshield report` has outcomes to rank.</summary>
    private async Task ReportOutcomeAsync(long block, string? bundleHash, string? state, string? reason, CancellationToken cancellationToken)
    {
        var outcome = (state, reason) switch
        {
            ("included", _) => "succeeded",
            (_, "nonce_taken") => "lost_to_competitor",
            (_, "reverted" or "fee_too_low") => "simulation_error",
            (_, "not_received" or "late") => "rpc_failure",
            _ => "other",
        };
        var hash = bundleHash is { Length: 66 } ? $",\"bundleHash\":\"{bundleHash}\"" : "";
        var note = reason is null ? "" : $",\"note\":\"reason: {reason}\"";
        var answer = await _rpc.CallAsync("rpcshield_reportOutcome", string.Create(CultureInfo.InvariantCulture,
            $"[{{\"strategy\":\"demo-bot\",\"block\":{block},\"expectedProfit\":{options.TipEther},\"outcome\":\"{outcome}\"{hash}{note}}}]"), cancellationToken);
        _reported += answer.Ok ? 1 : 0;
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private async Task PrintTotalsAsync(ReadLoad reads)
    {
        var decided = _included + _lost + _notIncluded;
        await output.WriteLineAsync();
        await output.WriteLineAsync("totals");
        var rate = decided > 0 ? FormattableString.Invariant($" (inclusion rate {100.0 * _included / decided:0.#}%)") : "";
        await output.WriteLineAsync($"  bundles: {_sent} sent, {_rejected} rejected, {decided} decided: {_included} included, {_lost} lost, {_notIncluded} not included{rate}");
        if (_landedBy.Count > 0)
        {
            await output.WriteLineAsync("  landed by builder: " + string.Join(", ", _landedBy.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        }

        if (_reasons.Count > 0)
        {
            await output.WriteLineAsync("  why bundles missed (rpcshield_getBundleStatus): " + string.Join(", ", _reasons.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        }

        await output.WriteLineAsync($"  outcomes reported to RpcShield (rpcshield_reportOutcome): {_reported}; see them with `rpcshield report`");
        await output.WriteLineAsync($"  reads: {reads.TotalOk} ok, {reads.TotalFailed} failed");
        await PrintRpcShieldViewAsync();
    }

    /// <summary>RpcShield's own per-builder view (`/status`): submission success and inclusion rates from its tracker.</summary>
    private async Task PrintRpcShieldViewAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            using var response = await http.GetAsync(new Uri(options.Rpc, "status"), timeout.Token);
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
            var chain = document.RootElement.GetProperty("chains")[0];
            if (!chain.TryGetProperty("builders", out var builders))
            {
                return;
            }

            await output.WriteLineAsync("  RpcShield /status (builder: submissions ok/total, included/lost/not_included, inclusion rate):");
            foreach (var builder in builders.EnumerateArray())
            {
                var rate = builder.GetProperty("inclusion_rate");
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"    {builder.GetProperty("name").GetString(),-10} {builder.GetProperty("ok").GetInt64()}/{builder.GetProperty("submissions").GetInt64()}, " +
                    $"{builder.GetProperty("included").GetInt64()}/{builder.GetProperty("lost").GetInt64()}/{builder.GetProperty("not_included").GetInt64()}, " +
                    $"{(rate.ValueKind == JsonValueKind.Number ? $"{rate.GetDouble() * 100:0.#}%" : "-")}"));
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or OperationCanceledException or IndexOutOfRangeException)
        {
        }
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..10] + "…" : hash;
}
