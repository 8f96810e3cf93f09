using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using RpcShield.Configuration;
using RpcShield.Features.Signing;

namespace RpcShield.Sandbox;

/// <summary>One request a sandbox builder received (kept for inspection: tests, /sandbox).</summary>
internal sealed record BuilderSubmission(string Method, byte[] Body, string? Signature, string? Signer, int Status);

/// <summary>
/// A sandbox block builder speaking the real builder wire format: `eth_sendBundle` →
/// `{bundleHash}`, `eth_cancelBundle`, `eth_sendPrivateRawTransaction` / `eth_sendPrivateTransaction`
/// → tx hash, `eth_callBundle` simulated on anvil; `X-Flashbots-Signature` checked when `require_signature` (HTTP 403 `{"error":…}` like
/// the Flashbots relay). Bundles wait here until this builder wins a slot.
/// </summary>
internal sealed class SandboxBuilder : IAsyncDisposable
{
    /// <summary>Private transactions without maxBlockNumber stay eligible this many blocks (Flashbots' default).</summary>
    public const int PrivateTxBlocks = 25;
    private const int SubmissionLogSize = 1000;

    private readonly SandboxBuilderOptions _options;
    private readonly Func<long> _head;
    private readonly SandboxBundleSimulator? _simulator;
    private readonly SandboxListener _listener;
    private readonly Lock _lock = new();
    private readonly List<SandboxBundle> _pending = [];
    private readonly ConcurrentQueue<BuilderSubmission> _submissions = new();
    private readonly Dictionary<(string Hash, long Block), SandboxVerdict> _verdicts = [];
    private readonly Queue<(string Hash, long Block)> _verdictOrder = new();
    private long _sequence;
    private long _wins;
    private long _included;

    /// <param name="head">The current head of the sandbox chain (for private transactions' default window).</param>
    /// <param name="simulator">Answers `eth_callBundle` (without one the method is not supported).</param>
    public SandboxBuilder(SandboxBuilderOptions options, Func<long> head, SandboxBundleSimulator? simulator = null)
    {
        _options = options;
        _head = head;
        _simulator = simulator;
        _listener = new SandboxListener(options.Port, HandleAsync);
    }

    public string Name => _options.Name;

    public int Port => _listener.Port;

    public string Coinbase => _options.Coinbase;

    public double Weight => _options.Weight;

    public bool RequireSignature => _options.RequireSignature;

    public bool IsRunning => _listener.IsRunning;

    public long Wins => Interlocked.Read(ref _wins);

    public long IncludedBundles => Interlocked.Read(ref _included);

    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>This builder's own verdict on each bundle it was sent (the most recent <see cref="SubmissionLogSize"/>).</summary>
    public IReadOnlyList<SandboxVerdict> Verdicts
    {
        get
        {
            lock (_lock)
            {
                return [.. _verdictOrder.Select(k => _verdicts[k])];
            }
        }
    }

    /// <summary>Records (or updates) this builder's verdict on a bundle for a block.</summary>
    public void Verdict(string bundleHash, long block, string verdict, string? detail = null)
    {
        lock (_lock)
        {
            VerdictLocked(bundleHash, block, verdict, detail);
        }
    }

    private void VerdictLocked(string bundleHash, long block, string verdict, string? detail)
    {
        if (_verdicts.TryAdd((bundleHash, block), new SandboxVerdict(bundleHash, block, verdict, detail)))
        {
            _verdictOrder.Enqueue((bundleHash, block));
            while (_verdictOrder.Count > SubmissionLogSize)
            {
                _verdicts.Remove(_verdictOrder.Dequeue());
            }
        }
        else
        {
            _verdicts[(bundleHash, block)] = new SandboxVerdict(bundleHash, block, verdict, detail);
        }
    }

    /// <summary>The most recent requests (oldest first).</summary>
    public IReadOnlyList<BuilderSubmission> Submissions => [.. _submissions];

    public Task StartAsync(CancellationToken cancellationToken) => _listener.StartAsync(cancellationToken);

    /// <summary>Takes the bundles and private transactions eligible for <paramref name="block"/>, in arrival order.</summary>
    public IReadOnlyList<SandboxBundle> TakeFor(long block, long timestamp)
    {
        Interlocked.Increment(ref _wins);
        lock (_lock)
        {
            var taken = _pending
                .Where(b => b.Targets(block)
                            && (b.MinTimestamp is not { } min || timestamp >= min)
                            && (b.MaxTimestamp is not { } max || timestamp <= max))
                .OrderBy(b => b.Sequence)
                .ToList();
            _pending.RemoveAll(taken.Contains);
            return taken;
        }
    }

    public void CountIncluded() => Interlocked.Increment(ref _included);

    /// <summary>Forgets bundles whose block has passed.</summary>
    public void Prune(long sealedBlock)
    {
        lock (_lock)
        {
            foreach (var bundle in _pending.Where(b => b.Block == sealedBlock))
            {
                // Still waiting when its block was sealed: this builder did not build it, or could not use the bundle then.
                VerdictLocked(bundle.BundleHash, sealedBlock, "not_selected", "not in the block this builder's pool offered");
            }

            _pending.RemoveAll(b => b.Block is { } target ? target <= sealedBlock : b.MaxBlock <= sealedBlock);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, aborted).ConfigureAwait(false);
        var body = buffer.ToArray();
        string? signature = context.Request.Headers[FlashbotsSigner.HeaderName];
        string? signer = null;
        var signed = signature is not null && FlashbotsSigner.TryVerify(signature, body, out signer);
        var (status, reply, method) = _simulator is not null && (!_options.RequireSignature || signed) && CallBundleParams(body) is { } call
            ? (200, await _simulator.CallBundleAsync(call.Id, call.Bundle, aborted).ConfigureAwait(false), "eth_callBundle")
            : Process(body, signature, signed);
        Record(new BuilderSubmission(method, body, signature, signed ? signer : null, status));
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(reply, aborted).ConfigureAwait(false);
    }

    private void Record(BuilderSubmission submission)
    {
        _submissions.Enqueue(submission);
        while (_submissions.Count > SubmissionLogSize && _submissions.TryDequeue(out _))
        {
        }
    }

    /// <summary>The id and params[0] of an `eth_callBundle` request, else null.</summary>
    private static (string Id, JsonElement Bundle)? CallBundleParams(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("method", out var method) || !method.ValueEquals("eth_callBundle"))
            {
                return null;
            }

            var id = root.TryGetProperty("id", out var i) ? i.GetRawText() : "null";
            return (id, root.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0 ? p[0].Clone() : default);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal (int Status, byte[] Reply, string Method) Process(byte[] body, string? signature, bool signatureValid)
    {
        if (_options.RequireSignature && !signatureValid)
        {
            // The Flashbots relay answers signature problems with 403 and a bare {"error": "..."} body.
            var message = signature is null
                ? $"missing {FlashbotsSigner.HeaderName} header"
                : "error in signature check " + ClaimedAddress(signature);
            return (403, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = message }), "unsigned");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return (200, Error(null, -32700, "parse error"), "invalid");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("method", out var methodElement) || methodElement.ValueKind != JsonValueKind.String)
            {
                return (200, Error(null, -32600, "invalid request: expected one JSON-RPC object (builders do not take batches)"), "invalid");
            }

            var id = root.TryGetProperty("id", out var idElement) ? idElement.GetRawText() : "null";
            var method = methodElement.GetString()!;
            var parameters = root.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0 ? p[0] : default;
            try
            {
                return method switch
                {
                    "eth_sendBundle" => (200, SendBundle(id, parameters), method),
                    "eth_cancelBundle" => (200, CancelBundle(id, parameters), method),
                    "eth_sendPrivateRawTransaction" => (200, SendPrivate(id, parameters, null), method),
                    "eth_sendPrivateTransaction" => (200, SendPrivateObject(id, parameters), method),
                    _ => (200, Error(id, -32601, $"method {method} not supported by this builder"), "other"),
                };
            }
            catch (BadParamsException ex)
            {
                return (200, Error(id, -32602, ex.Message), method);
            }
        }
    }

    private byte[] SendBundle(string id, JsonElement bundle)
    {
        if (bundle.ValueKind != JsonValueKind.Object)
        {
            throw new BadParamsException("params[0] must be a bundle object");
        }

        var txs = ReadTxs(bundle);
        var block = bundle.TryGetProperty("blockNumber", out var b) ? Quantity(b, "blockNumber") : throw new BadParamsException("blockNumber is required");
        var uuid = bundle.TryGetProperty("replacementUuid", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        if (txs.Count == 0)
        {
            if (uuid is null)
            {
                throw new BadParamsException("bundle has no transactions");
            }

            // BuilderNet-style cancel: the same replacementUuid with no transactions.
            Cancel(uuid);
            return Result(id, "{\"bundleHash\":null}");
        }

        if (block <= _head())
        {
            Verdict(SandboxBundle.HashOf(txs), block, "late", $"block {block} is already sealed");
            throw new BadParamsException($"block {block} is already sealed");
        }

        var reverting = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (bundle.TryGetProperty("revertingTxHashes", out var r) && r.ValueKind == JsonValueKind.Array)
        {
            foreach (var hash in r.EnumerateArray())
            {
                reverting.Add(hash.GetString() ?? "");
            }
        }

        var item = new SandboxBundle
        {
            BundleHash = SandboxBundle.HashOf(txs),
            Txs = txs,
            Block = block,
            RevertingTxHashes = reverting,
            ReplacementUuid = uuid,
            MinTimestamp = bundle.TryGetProperty("minTimestamp", out var min) ? Number(min, "minTimestamp") : null,
            MaxTimestamp = bundle.TryGetProperty("maxTimestamp", out var max) ? Number(max, "maxTimestamp") : null,
            Sequence = Interlocked.Increment(ref _sequence),
        };
        lock (_lock)
        {
            if (uuid is not null)
            {
                CancelLocked(uuid);
            }

            _pending.Add(item);
            VerdictLocked(item.BundleHash, block, "pending", null);
        }

        return Result(id, $"{{\"bundleHash\":\"{item.BundleHash}\"}}");
    }

    private byte[] CancelBundle(string id, JsonElement cancel)
    {
        if (cancel.ValueKind != JsonValueKind.Object || !cancel.TryGetProperty("replacementUuid", out var u) || u.ValueKind != JsonValueKind.String)
        {
            throw new BadParamsException("params[0].replacementUuid is required");
        }

        Cancel(u.GetString()!);
        return Result(id, "null");
    }

    private void Cancel(string uuid)
    {
        lock (_lock)
        {
            CancelLocked(uuid);
        }
    }

    private void CancelLocked(string uuid)
    {
        foreach (var bundle in _pending.Where(x => x.ReplacementUuid == uuid && x.Block is not null))
        {
            VerdictLocked(bundle.BundleHash, bundle.Block!.Value, "cancelled", $"replacementUuid {uuid} cancelled");
        }

        _pending.RemoveAll(x => x.ReplacementUuid == uuid);
    }

    private byte[] SendPrivateObject(string id, JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object || !request.TryGetProperty("tx", out var tx))
        {
            throw new BadParamsException("params[0].tx is required");
        }

        long? maxBlock = request.TryGetProperty("maxBlockNumber", out var m) ? Quantity(m, "maxBlockNumber") : null;
        return SendPrivate(id, tx, maxBlock);
    }

    private byte[] SendPrivate(string id, JsonElement raw, long? maxBlock)
    {
        var tx = RawTx(raw);
        var item = new SandboxBundle
        {
            BundleHash = SandboxBundle.HashOf([tx]),
            Txs = [tx],
            Block = null,
            MaxBlock = maxBlock ?? _head() + PrivateTxBlocks,
            Sequence = Interlocked.Increment(ref _sequence),
        };
        lock (_lock)
        {
            _pending.Add(item);
        }

        return Result(id, $"\"{SandboxBundle.TxHash(tx)}\"");
    }

    private static List<string> ReadTxs(JsonElement bundle)
    {
        if (!bundle.TryGetProperty("txs", out var txs) || txs.ValueKind != JsonValueKind.Array)
        {
            throw new BadParamsException("txs must be an array of raw transactions");
        }

        return [.. txs.EnumerateArray().Select(RawTx)];
    }

    private static string RawTx(JsonElement element)
    {
        var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : "";
        if (!text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.Length < 4 || text.Length % 2 != 0 || !IsHex(text.AsSpan(2)))
        {
            throw new BadParamsException("transactions must be 0x-prefixed hex");
        }

        return text;
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static long Quantity(JsonElement element, string name)
    {
        try
        {
            return element.ValueKind == JsonValueKind.String ? JsonRpc.HexQuantity.Parse(element.GetString()) : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new BadParamsException($"{name} must be a hex quantity");
        }
    }

    private static long Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) ? value
        : element.ValueKind == JsonValueKind.String ? Quantity(element, name)
        : throw new BadParamsException($"{name} must be a number");

    private static string ClaimedAddress(string header)
    {
        var colon = header.IndexOf(':', StringComparison.Ordinal);
        var claimed = colon > 0 ? header[..colon] : "";
        return claimed.Length == 42 && claimed.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && IsHex(claimed.AsSpan(2)) ? claimed : "(malformed header)";
    }

    private static byte[] Result(string id, string resultJson) =>
        System.Text.Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{resultJson}}}");

    private static byte[] Error(string? id, int code, string message) =>
        System.Text.Encoding.UTF8.GetBytes($"{{\"jsonrpc\":\"2.0\",\"id\":{id ?? "null"},\"error\":{{\"code\":{code.ToString(CultureInfo.InvariantCulture)},\"message\":{JsonSerializer.Serialize(message)}}}}}");

    public Task StopAsync() => _listener.StopAsync();

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    private sealed class BadParamsException(string message) : Exception(message);
}
