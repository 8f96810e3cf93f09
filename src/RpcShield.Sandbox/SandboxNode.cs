using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RpcShield.Configuration;

namespace RpcShield.Sandbox;

/// <summary>What a sandbox node is currently doing.</summary>
internal enum SandboxNodeState
{
    /// <summary>Forwards every request to the sandbox chain.</summary>
    Running,
    /// <summary>Listener closed: connections are refused.</summary>
    Stopped,
    /// <summary>Accepts requests and never answers them (until healed).</summary>
    Stalled,
    /// <summary>Serves a head N blocks old (`eth_blockNumber`, `latest` tags, newer blocks are unknown).</summary>
    Lagging,
}

/// <summary>
/// A node endpoint in front of the sandbox anvil: forwards JSON-RPC bytes unchanged, and on command
/// stops, stalls, lags or slows down so RpcShield's failover can be watched.
/// </summary>
internal sealed class SandboxNode : IAsyncDisposable
{
    private static readonly string[] LatestTags = ["latest", "pending", "safe", "finalized"];

    private readonly SandboxNodeOptions _options;
    private readonly AnvilClient _anvil;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly SandboxListener _listener;
    private readonly Lock _lock = new();
    private SandboxNodeState _state = SandboxNodeState.Running;
    private int _lagBlocks;
    private TimeSpan _extraLatency;
    private CancellationTokenSource _stall = new();
    private long _served;

    public SandboxNode(SandboxNodeOptions options, AnvilClient anvil, HttpClient http, TimeProvider time)
    {
        _options = options;
        _anvil = anvil;
        _http = http;
        _time = time;
        _listener = new SandboxListener(options.Port, HandleAsync);
    }

    public string Name => _options.Name;

    public int Port => _listener.Port;

    public SandboxNodeState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    public int LagBlocks => Volatile.Read(ref _lagBlocks);

    /// <summary>Configured latency plus any `slow` command.</summary>
    public TimeSpan Latency
    {
        get
        {
            lock (_lock)
            {
                return _options.Latency + _extraLatency;
            }
        }
    }

    public long Served => Interlocked.Read(ref _served);

    public Task StartAsync(CancellationToken cancellationToken) => _listener.StartAsync(cancellationToken);

    public async Task StopAsync()
    {
        lock (_lock)
        {
            _state = SandboxNodeState.Stopped;
        }

        ReleaseStalled();
        await _listener.StopAsync().ConfigureAwait(false);
    }

    public void Stall()
    {
        lock (_lock)
        {
            _state = SandboxNodeState.Stalled;
        }
    }

    public void Lag(int blocks)
    {
        lock (_lock)
        {
            _lagBlocks = blocks;
            _state = SandboxNodeState.Lagging;
        }

        ReleaseStalled();
    }

    public void Slow(TimeSpan extra)
    {
        lock (_lock)
        {
            _extraLatency = extra;
        }
    }

    /// <summary>Back to normal: running, no lag, configured latency only, stalled requests released.</summary>
    public async Task HealAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _state = SandboxNodeState.Running;
            _lagBlocks = 0;
            _extraLatency = TimeSpan.Zero;
        }

        ReleaseStalled();
        await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private void ReleaseStalled()
    {
        CancellationTokenSource old;
        lock (_lock)
        {
            old = _stall;
            _stall = new CancellationTokenSource();
        }

        old.Cancel();
        old.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        SandboxNodeState state;
        CancellationToken stallToken;
        lock (_lock)
        {
            state = _state;
            stallToken = _stall.Token;
        }

        if (state == SandboxNodeState.Stalled)
        {
            // Hold the request open and say nothing until the client gives up or the node is healed.
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, stallToken);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            if (aborted.IsCancellationRequested)
            {
                return;
            }
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _time, aborted).ConfigureAwait(false);
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, aborted).ConfigureAwait(false);
        var body = buffer.ToArray();
        var lag = LagBlocks;
        if (State == SandboxNodeState.Lagging && lag > 0)
        {
            var head = await _anvil.BlockNumberAsync(aborted).ConfigureAwait(false);
            var rewritten = LagRewriter.Rewrite(body, Math.Max(0, head - lag));
            if (rewritten.Reply is { } reply)
            {
                await WriteAsync(context, 200, reply, aborted).ConfigureAwait(false);
                return;
            }

            body = rewritten.Request!;
        }

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        int status;
        byte[] answer;
        try
        {
            using var response = await _http.PostAsync(_anvil.Url, content, aborted).ConfigureAwait(false);
            answer = await response.Content.ReadAsByteArrayAsync(aborted).ConfigureAwait(false);
            status = (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            // The chain behind the node is gone: answer like a node whose backend died.
            status = StatusCodes.Status502BadGateway;
            answer = """{"error":"sandbox chain unavailable"}"""u8.ToArray();
        }

        Interlocked.Increment(ref _served);
        await WriteAsync(context, status, answer, aborted).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, int status, byte[] body, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseStalled();
        await _listener.DisposeAsync().ConfigureAwait(false);
        _stall.Dispose();
    }

    /// <summary>Makes a request see the chain as of an older head.</summary>
    internal static class LagRewriter
    {
        /// <summary>Either a request to forward (tags pinned to the lagged head) or a full local reply.</summary>
        public static (byte[]? Request, byte[]? Reply) Rewrite(byte[] body, long laggedHead)
        {
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(body);
            }
            catch (JsonException)
            {
                return (body, null);
            }

            if (root is JsonObject single)
            {
                return TryAnswerLocally(single, laggedHead) is { } local
                    ? (null, JsonSerializer.SerializeToUtf8Bytes(local))
                    : (JsonSerializer.SerializeToUtf8Bytes(Pin(single, laggedHead)), null);
            }

            // Batches: pin every item and forward (eth_blockNumber inside a batch is pinned via the tag rewrite only).
            if (root is JsonArray batch)
            {
                foreach (var item in batch.OfType<JsonObject>())
                {
                    Pin(item, laggedHead);
                }

                return (JsonSerializer.SerializeToUtf8Bytes(batch), null);
            }

            return (body, null);
        }

        private static JsonObject? TryAnswerLocally(JsonObject request, long laggedHead)
        {
            var method = request["method"]?.GetValue<string>();
            JsonNode? result;
            if (method == "eth_blockNumber")
            {
                result = JsonValue.Create(JsonRpc.HexQuantity.Format(laggedHead));
            }
            else if (method is "eth_getBlockByNumber" or "eth_getBlockTransactionCountByNumber"
                     && request["params"] is JsonArray { Count: > 0 } p
                     && p[0] is JsonValue v && v.TryGetValue<string>(out var tag)
                     && JsonRpc.HexQuantity.TryParse(tag, out var number)
                     && number > laggedHead)
            {
                result = null; // this node has not seen that block yet
            }
            else
            {
                return null;
            }

            return new JsonObject
            {
                ["jsonrpc"] = "2.0",
                ["id"] = request["id"]?.DeepClone(),
                ["result"] = result,
            };
        }

        private static JsonObject Pin(JsonObject request, long laggedHead)
        {
            if (request["params"] is JsonArray parameters)
            {
                for (var i = 0; i < parameters.Count; i++)
                {
                    if (parameters[i] is JsonValue value && value.TryGetValue<string>(out var text) && LatestTags.Contains(text))
                    {
                        parameters[i] = JsonRpc.HexQuantity.Format(laggedHead);
                    }
                }
            }

            return request;
        }
    }
}
