using Microsoft.AspNetCore.Http;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// Parses an envelope and dispatches its items (a batch's items concurrently, each routed on its
/// own), producing the <see cref="RpcReply"/> in the client's order. Shared by HTTP and WebSocket.
/// </summary>
internal sealed class RpcProcessor
{
    private readonly RpcDispatcher _dispatcher;

    public RpcProcessor(RpcDispatcher dispatcher) => _dispatcher = dispatcher;

    public async ValueTask<RpcReply> ProcessAsync(RpcCall call, ReadOnlyMemory<byte> body, int maxBatchItems, CancellationToken cancellationToken)
    {
        var envelope = RpcEnvelopeParser.Parse(body, maxBatchItems);
        if (envelope.Kind == EnvelopeKind.Invalid)
        {
            return InvalidEnvelope(envelope);
        }

        if (envelope.Items.Length == 1)
        {
            return Assemble(envelope, await DispatchOneAsync(call, envelope, 0, cancellationToken).ConfigureAwait(false));
        }

        return await ProcessBatchAsync(call, envelope, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A batch's items are dispatched concurrently, each routed on its own (reads to one upstream
    /// share its requests) and finished by its own dispatch (its request duration is its own), then
    /// collected in order.
    /// </summary>
    public async ValueTask<RpcReply> ProcessBatchAsync(RpcCall call, RpcEnvelope envelope, CancellationToken cancellationToken)
    {
        var items = envelope.Items;
        var answers = new ValueTask<ForwardResult?>[items.Length];
        // Items whose gates and routing complete at once join the batch now; Flush sends it.
        call.Batch = _dispatcher.CoalesceReads(cancellationToken);
        try
        {
            for (var i = 0; i < items.Length; i++)
            {
                // Kept to be awaited exactly once, below (no Task per item): all are in flight before the first is awaited.
#pragma warning disable CA2012
                answers[i] = DispatchOneAsync(call, envelope, i, cancellationToken);
#pragma warning restore CA2012
            }
        }
        finally
        {
            // Whatever happened above, the items that joined are sent (none waits forever).
            call.Batch?.Flush();
        }

        var results = new ForwardResult?[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            results[i] = await answers[i].ConfigureAwait(false);
        }

        return Assemble(envelope, results);
    }

    /// <summary>The reply to an envelope that did not parse (-32700, -32600, -32093).</summary>
    public static RpcReply InvalidEnvelope(RpcEnvelope envelope)
    {
        var status = envelope.ErrorCode == RpcErrorCodes.TooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status200OK;
        return RpcReply.LocalError(status, envelope.ErrorCode, envelope.ErrorMessage!);
    }

    /// <summary>
    /// Begins the dispatch of a one-item envelope for a caller that awaits it in its own state
    /// machine (the HTTP endpoint): await the returned answer, then hand it to <see cref="EndSingle"/>.
    /// </summary>
    public ValueTask<ForwardResult?> BeginSingle(RpcCall call, RpcEnvelope envelope, CancellationToken cancellationToken, out RpcDispatch dispatch)
    {
        if (envelope.Invalid?[0] is not null)
        {
            dispatch = default;
            return ValueTask.FromResult<ForwardResult?>(null);
        }

        return _dispatcher.Begin(call, DispatchedItem(envelope, 0), cancellationToken, out dispatch)!;
    }

    /// <summary>The answer of a <see cref="BeginSingle"/> (null for an invalid item, answered by its error).</summary>
    public ForwardResult? EndSingle(ref RpcDispatch dispatch, RpcCall call, ForwardResult? answer) =>
        answer is null ? null : _dispatcher.End(ref dispatch, call, answer);

    public static RpcReply Assemble(RpcEnvelope envelope, ForwardResult? single) =>
        new(envelope.Kind == EnvelopeKind.Batch, StatusCodes.Status200OK, PartOf(envelope, 0, single), single);

    /// <summary>The reply in the client's order: answers (with their ids restored), invalid-item errors, nothing for notifications.</summary>
    public static RpcReply Assemble(RpcEnvelope envelope, ForwardResult?[] results)
    {
        var parts = new List<ReadOnlyMemory<byte>>(envelope.Items.Length);
        for (var i = 0; i < envelope.Items.Length; i++)
        {
            if (PartOf(envelope, i, results[i]) is { } part)
            {
                parts.Add(part);
            }
        }

        return new RpcReply(envelope.Kind == EnvelopeKind.Batch, StatusCodes.Status200OK, parts, results);
    }

    /// <summary>What item <paramref name="index"/> answers: its invalid-item error, its answer, or nothing (a notification).</summary>
    private static ReadOnlyMemory<byte>? PartOf(RpcEnvelope envelope, int index, ForwardResult? result)
    {
        var item = envelope.Items[index];
        if (envelope.Invalid?[index] is { } bad)
        {
            return RpcResponseWriter.ErrorBytes(bad.Id.Span, RpcErrorCodes.InvalidRequest, bad.Message);
        }

        if (result is null || item.IsNotification)
        {
            return null;
        }

        return result.Body is { } served
            ? (RpcIdRewriter.NeedsRewrite(item) ? RpcIdRewriter.RestoreId(served.Memory, item.Id.Span) : served.Memory)
            : RpcResponseWriter.ErrorBytes(item.Id.Span, result.ErrorCode, result.ErrorMessage!, result.ErrorData);
    }

    /// <summary>Not an async method: it only picks the item, so it adds no state machine per request.</summary>
    private ValueTask<ForwardResult?> DispatchOneAsync(RpcCall call, RpcEnvelope envelope, int index, CancellationToken cancellationToken)
    {
        if (envelope.Invalid?[index] is not null)
        {
            return ValueTask.FromResult<ForwardResult?>(null);
        }

        return _dispatcher.DispatchAsync(call, DispatchedItem(envelope, index), cancellationToken)!;
    }

    /// <summary>
    /// The item as it goes upstream: ids a node might not echo exactly (and notifications, which a
    /// node leaves unanswered) get a synthetic id; the client's own is restored when the reply is assembled.
    /// </summary>
    private static RpcRequestItem DispatchedItem(RpcEnvelope envelope, int index)
    {
        var item = envelope.Items[index];
        return RpcIdRewriter.NeedsRewrite(item) ? RpcIdRewriter.WithSyntheticId(item, index) : item;
    }
}
