using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using RpcShield.Chains;
using RpcShield.Configuration;

namespace RpcShield.JsonRpc;

/// <summary>`POST /` and `POST /{chain}`: reads the bounded body, processes it, streams the reply.</summary>
internal sealed class JsonRpcEndpoint
{
    private readonly ChainRegistry _chains;
    private readonly ConfigStore _config;
    private readonly RpcProcessor _processor;
    private readonly IChainModeSource _modes;
    private readonly Telemetry.RequestFailures _failures;

    public JsonRpcEndpoint(ChainRegistry chains, ConfigStore config, RpcProcessor processor, IChainModeSource modes, Telemetry.RequestFailures failures)
    {
        _chains = chains;
        _config = config;
        _processor = processor;
        _modes = modes;
        _failures = failures;
    }

    /// <summary>
    /// Serves `POST /` (the default chain) and `POST /{chain}` for a configured chain ahead of
    /// routing; null for anything else, which routing serves as before (an unknown chain name
    /// reaches <see cref="HandleRoutedChainAsync"/>).
    /// </summary>
    public Task? TryServe(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            return null;
        }

        var path = context.Request.Path.Value.AsSpan().TrimEnd('/');
        if (path.IsEmpty)
        {
            return HandleAsync(context, _chains.Default);
        }

        return path.LastIndexOf('/') == 0 && _chains.TryGet(path[1..], out var chain) ? HandleAsync(context, chain) : null;
    }

    /// <summary>The routed `POST /{chain}`: only names <see cref="TryServe"/> did not know get here.</summary>
    public Task HandleRoutedChainAsync(HttpContext context)
    {
        var name = context.Request.RouteValues["chain"] as string ?? "";
        if (!_chains.TryGet(name, out var chain))
        {
            return WriteAsync(context, RpcReply.LocalError(StatusCodes.Status404NotFound, RpcErrorCodes.UnknownChain, "Unknown chain"), null);
        }

        return HandleAsync(context, chain);
    }

    private async Task HandleAsync(HttpContext context, ChainRuntime chain)
    {
        // Caught here rather than by a middleware around the fast path: no extra state machine per request.
        try
        {
            var server = _config.Current.Server;
            var aborted = context.RequestAborted;
            if (context.Request.ContentLength > server.MaxBodyBytes)
            {
                // The unread body stays on the wire: tell the client this connection cannot be reused.
                context.Response.Headers.Connection = "close";
                await WriteAsync(context, TooLarge(server), chain).ConfigureAwait(false);
                await OversizeBodyDrain.DrainAsync(context).ConfigureAwait(false);
                return;
            }

            using var body = new PooledBuffer(context.Request.ContentLength is long length and > 0 and < 1 << 20 ? (int)length : 4096);
            if (!await ReadBodyAsync(context.Request.BodyReader, body, server.MaxBodyBytes, aborted).ConfigureAwait(false))
            {
                context.Response.Headers.Connection = "close";
                await WriteAsync(context, TooLarge(server), chain).ConfigureAwait(false);
                await OversizeBodyDrain.DrainAsync(context).ConfigureAwait(false);
                return;
            }

            var call = new RpcCall(chain, context.Request.Headers, RpcTransport.Http) { HttpContext = context };
            var envelope = RpcEnvelopeParser.Parse(body.Memory, server.MaxBatchItems);
            RpcReply reply;
            if (envelope.Kind == EnvelopeKind.Invalid)
            {
                reply = RpcProcessor.InvalidEnvelope(envelope);
            }
            else if (envelope.Items.Length == 1)
            {
                // A single call is awaited here: no processor or dispatcher state machine per request.
                var answer = _processor.BeginSingle(call, envelope, aborted, out var dispatch);
                // Awaited on its own line: what an expression reads before an await is copied into the state machine.
                var routed = await answer.ConfigureAwait(false);
                reply = RpcProcessor.Assemble(envelope, _processor.EndSingle(ref dispatch, call, routed));
            }
            else
            {
                reply = await _processor.ProcessBatchAsync(call, envelope, aborted).ConfigureAwait(false);
            }

            using var _ = reply;
            call.WriteTo(context.Response.Headers);

            await WriteAsync(context, reply, chain).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await _failures.HandleAsync(context, ex).ConfigureAwait(false);
        }
    }

    private static RpcReply TooLarge(ServerOptions server) =>
        RpcReply.LocalError(StatusCodes.Status413PayloadTooLarge, RpcErrorCodes.TooLarge, $"Request too large: limit is {server.MaxBodyBytes} bytes");

    private async Task WriteAsync(HttpContext context, RpcReply reply, ChainRuntime? chain)
    {
        var response = context.Response;
        if (chain is not null)
        {
            response.Headers["X-RpcShield-Mode"] = _modes.ModeOf(chain.Name);
        }

        if (reply.IsEmpty)
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        response.StatusCode = reply.StatusCode;
        response.ContentType = "application/json";
        response.ContentLength = reply.Length;
        await reply.WriteToAsync(response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
    }

    private static async ValueTask<bool> ReadBodyAsync(PipeReader reader, PooledBuffer body, long limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                // A chunked body crossed Kestrel's limit (set just above max_body_bytes): answer -32093, not an empty 413.
                return false;
            }

            foreach (var segment in read.Buffer)
            {
                if (body.Length + segment.Length > limit)
                {
                    reader.AdvanceTo(read.Buffer.End);
                    return false;
                }

                body.Write(segment.Span);
            }

            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return true;
            }
        }
    }
}
