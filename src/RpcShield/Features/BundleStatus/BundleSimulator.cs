using System.Buffers;
using System.Globalization;
using System.Text.Json;
using RpcShield.Chains;
using RpcShield.Features.Signing;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// Simulates a bundle on the target block's parent state with the chain's own upstreams:
/// `eth_callBundle` where an upstream serves it, else `eth_simulateV1`, else (only for a single
/// transaction, which cannot depend on another) `eth_call`. Simulations reveal the bundle, so they go
/// only to upstreams marked `trusted: true` when any is marked. Background only (the judge).
/// </summary>
internal sealed class BundleSimulator(UpstreamSender sender)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);
    private const int MaxUpstreams = 3;

    /// <param name="mayRevert">Hashes of the bundle's `revertingTxHashes`: a revert of one of them is allowed, the first other revert counts.</param>
    public async Task<SimulationResult> SimulateAsync(ChainRuntime chain, IReadOnlyList<byte[]> raws, IReadOnlyList<BundleTransaction> txs, long target, IReadOnlySet<string> mayRevert, CancellationToken cancellationToken)
    {
        var parent = Hex(target - 1);
        var tried = new List<string>();
        var hashes = raws.Select(r => "0x" + Convert.ToHexStringLower(FlashbotsSigner.Keccak(r))).ToList();
        var callBundle = await TryAsync(chain, "eth_callBundle", CallBundleBody(raws, target, parent), (root, via) => ReadCallBundle(root, via, hashes, mayRevert), tried, cancellationToken).ConfigureAwait(false);
        if (callBundle is not null)
        {
            return callBundle;
        }

        if (txs.Count == raws.Count)
        {
            var simulate = await TryAsync(chain, "eth_simulateV1", SimulateBody(txs, parent), (root, via) => ReadSimulate(root, via, txs, mayRevert), tried, cancellationToken).ConfigureAwait(false);
            if (simulate is not null)
            {
                return simulate;
            }

            if (txs.Count == 1)
            {
                var call = await TryAsync(chain, "eth_call", CallBody(txs[0], parent), (root, via) => ReadCall(root, via, mayRevert.Contains(txs[0].Hash)), tried, cancellationToken).ConfigureAwait(false);
                if (call is not null)
                {
                    return call;
                }
            }
            else
            {
                tried.Add("eth_call: not used (the transactions may depend on each other)");
            }
        }
        else
        {
            tried.Add("a transaction could not be decoded");
        }

        return SimulationResult.NotRun("could not simulate: " + (tried.Count == 0 ? "no upstream to simulate on" : string.Join("; ", tried)));
    }

    private async Task<SimulationResult?> TryAsync(ChainRuntime chain, string method, byte[] body, Func<JsonElement, string, SimulationResult?> read, List<string> tried, CancellationToken cancellationToken)
    {
        var anyTrusted = chain.Upstreams.Any(u => u.Options.Trusted);
        var used = 0;
        foreach (var upstream in chain.Candidates(method, 8))
        {
            if ((anyTrusted && !upstream.Options.Trusted) || used++ >= MaxUpstreams)
            {
                continue;
            }

            using var outcome = await sender.SendAsync(upstream, body, method, Timeout, call: null, cancellationToken).ConfigureAwait(false);
            if (outcome.Body is not { } answer)
            {
                tried.Add($"{method} on {upstream.Name}: {outcome.Kind.ToString().ToLowerInvariant()}");
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(answer.Memory);
                var root = document.RootElement;
                if (root.TryGetProperty("error", out var error) && IsUnsupported(error))
                {
                    tried.Add($"{method} on {upstream.Name}: not supported");
                    continue;
                }

                if (read(root, $"{method} on {upstream.Name}") is { } result)
                {
                    return result;
                }

                tried.Add($"{method} on {upstream.Name}: unexpected answer");
            }
            catch (JsonException)
            {
                tried.Add($"{method} on {upstream.Name}: not JSON");
            }
            catch (InvalidOperationException)
            {
                // A value of an unexpected JSON kind (a number where a string belongs): not an answer to read.
                tried.Add($"{method} on {upstream.Name}: unexpected answer");
            }
        }

        return null;
    }

    private static bool IsUnsupported(JsonElement error)
    {
        var code = error.TryGetProperty("code", out var c) && c.TryGetInt32(out var value) ? value : 0;
        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : "";
        return code == RpcErrorCodes.MethodNotFound
            || message.Contains("not found", StringComparison.OrdinalIgnoreCase)
            || message.Contains("not supported", StringComparison.OrdinalIgnoreCase)
            || message.Contains("does not exist", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Flashbots `eth_callBundle`: `result.results[i]` (one object per transaction, in bundle order,
    /// with its `txHash`) carries `error` and `revert` for a failing transaction. Any other shape (a
    /// result per transaction missing, a hash that is not the bundle's) is not read: null, never a guess.
    /// </summary>
    internal static SimulationResult? ReadCallBundle(JsonElement root, string via, IReadOnlyList<string> txHashes, IReadOnlySet<string> mayRevert)
    {
        if (!root.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Object
            || !result.TryGetProperty("results", out var results) || results.ValueKind != JsonValueKind.Array
            || results.GetArrayLength() != txHashes.Count)
        {
            return null;
        }

        SimulationResult? reverted = null;
        var i = 0;
        foreach (var tx in results.EnumerateArray())
        {
            if (tx.ValueKind != JsonValueKind.Object
                || (tx.TryGetProperty("txHash", out var hash) && !(hash.ValueKind == JsonValueKind.String && string.Equals(hash.GetString(), txHashes[i], StringComparison.OrdinalIgnoreCase))))
            {
                return null;
            }

            if (reverted is null && tx.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null && !mayRevert.Contains(txHashes[i]))
            {
                var revert = tx.TryGetProperty("revert", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() is { Length: > 0 } data ? data : null;
                reverted = new SimulationResult(true, via, i, revert is null ? Text(error) : $"{Text(error)}, revert data {revert}", via) { RevertedTx = txHashes[i] };
            }

            i++;
        }

        return reverted ?? new SimulationResult(true, via, -1, null, via);
    }

    /// <summary>`eth_simulateV1`: `result[0].calls[i].status` is 0x0 for a failing call, with `error` and `returnData`.</summary>
    private static SimulationResult? ReadSimulate(JsonElement root, string via, IReadOnlyList<BundleTransaction> txs, IReadOnlySet<string> mayRevert)
    {
        if (!root.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Array || result.GetArrayLength() == 0
            || !result[0].TryGetProperty("calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var i = 0;
        foreach (var call in calls.EnumerateArray())
        {
            if (call.TryGetProperty("status", out var status) && status.GetString() == "0x0" && !(i < txs.Count && mayRevert.Contains(txs[i].Hash)))
            {
                var data = call.TryGetProperty("returnData", out var d) && d.GetString() is { Length: > 2 } bytes ? bytes : null;
                var message = call.TryGetProperty("error", out var error) ? Text(error) : "failed";
                return new SimulationResult(true, via, i, data is null ? message : $"{message}, revert data {data}", via);
            }

            i++;
        }

        return new SimulationResult(true, via, -1, null, via);
    }

    /// <summary>`eth_call`: a result is success; an error (execution reverted, code 3 with data) is a revert.</summary>
    private static SimulationResult? ReadCall(JsonElement root, string via, bool mayRevert)
    {
        if (root.TryGetProperty("result", out _) || (mayRevert && root.TryGetProperty("error", out _)))
        {
            return new SimulationResult(true, via, -1, null, via);
        }

        return root.TryGetProperty("error", out var error) ? new SimulationResult(true, via, 0, Text(error), via) : null;
    }

    private static string Text(JsonElement error)
    {
        if (error.ValueKind == JsonValueKind.String)
        {
            return error.GetString() ?? "";
        }

        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : error.GetRawText();
        return error.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.String ? $"{message}, revert data {d.GetString()}" : message;
    }

    private static byte[] CallBundleBody(IReadOnlyList<byte[]> raws, long target, string parent) => Request("eth_callBundle", w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("txs"u8);
        foreach (var raw in raws)
        {
            w.WriteStringValue("0x" + Convert.ToHexStringLower(raw));
        }

        w.WriteEndArray();
        w.WriteString("blockNumber"u8, Hex(target));
        w.WriteString("stateBlockNumber"u8, parent);
        w.WriteEndObject();
    });

    private static byte[] SimulateBody(IReadOnlyList<BundleTransaction> txs, string parent) => Request("eth_simulateV1", w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("blockStateCalls"u8);
        w.WriteStartObject();
        w.WriteStartArray("calls"u8);
        foreach (var tx in txs)
        {
            WriteCall(w, tx, withNonce: true);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("validation"u8, false);
        w.WriteEndObject();
    }, parent);

    private static byte[] CallBody(BundleTransaction tx, string parent) => Request("eth_call", w => WriteCall(w, tx, withNonce: false), parent);

    private static void WriteCall(Utf8JsonWriter w, BundleTransaction tx, bool withNonce)
    {
        w.WriteStartObject();
        w.WriteString("from"u8, tx.Sender);
        if (tx.To is not null)
        {
            w.WriteString("to"u8, tx.To);
        }

        w.WriteString("value"u8, Hex(tx.Value));
        w.WriteString("input"u8, tx.Data);
        w.WriteString("gas"u8, Hex(tx.Gas));
        if (withNonce)
        {
            w.WriteString("nonce"u8, Hex(tx.Identity.Nonce));
        }

        w.WriteEndObject();
    }

    private static byte[] Request(string method, Action<Utf8JsonWriter> first, string? blockTag = null)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc"u8, "2.0"u8);
            w.WriteNumber("id"u8, 1);
            w.WriteString("method"u8, method);
            w.WriteStartArray("params"u8);
            first(w);
            if (blockTag is not null)
            {
                w.WriteStringValue(blockTag);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A block number as a JSON-RPC hex quantity.</summary>
    internal static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Hex(System.Numerics.BigInteger value) => value <= 0 ? "0x0" : "0x" + value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0');
}
