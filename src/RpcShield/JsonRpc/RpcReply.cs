using System.Buffers;
using System.IO.Pipelines;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// The answer to one envelope: one part per answered item (upstream bytes passed through or a
/// local error), written as a single object or a batch array in the client's order.
/// </summary>
internal sealed class RpcReply : IDisposable
{
    private static readonly byte[] Open = "["u8.ToArray();
    private static readonly byte[] Comma = ","u8.ToArray();
    private static readonly byte[] Close = "]"u8.ToArray();

    // One answer (the common case) is held in fields, several in a list: no list or array per single request.
    private readonly ReadOnlyMemory<byte>? _single;
    private readonly ForwardResult? _singleOwned;
    private readonly List<ReadOnlyMemory<byte>>? _parts;
    private readonly ForwardResult?[]? _owned;

    public RpcReply(bool isBatch, int statusCode, List<ReadOnlyMemory<byte>> parts, ForwardResult?[] owned)
    {
        IsBatch = isBatch;
        StatusCode = statusCode;
        _parts = parts;
        _owned = owned;
    }

    /// <summary>The reply to one item: <paramref name="part"/> null when nothing is sent back (a notification).</summary>
    public RpcReply(bool isBatch, int statusCode, ReadOnlyMemory<byte>? part, ForwardResult? owned)
    {
        IsBatch = isBatch;
        StatusCode = statusCode;
        _single = part;
        _singleOwned = owned;
    }

    public bool IsBatch { get; }

    public int StatusCode { get; }

    /// <summary>True when nothing is to be sent back (notifications only).</summary>
    public bool IsEmpty => Count == 0;

    private int Count => _parts?.Count ?? (_single is null ? 0 : 1);

    public static RpcReply LocalError(int statusCode, int code, string message) =>
        new(false, statusCode, RpcResponseWriter.ErrorBytes(default, code, message), null);

    public long Length
    {
        get
        {
            long length = 0;
            for (var i = 0; i < Count; i++)
            {
                length += Part(i).Length;
            }

            return IsBatch ? length + 2 + Math.Max(0, Count - 1) : length;
        }
    }

    private ReadOnlyMemory<byte> Part(int index) => _parts is null ? _single!.Value : _parts[index];

    public async ValueTask WriteToAsync(PipeWriter writer, CancellationToken cancellationToken)
    {
        if (IsBatch)
        {
            await writer.WriteAsync(Open, cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < Count; i++)
        {
            if (IsBatch && i > 0)
            {
                await writer.WriteAsync(Comma, cancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(Part(i), cancellationToken).ConfigureAwait(false);
        }

        if (IsBatch)
        {
            await writer.WriteAsync(Close, cancellationToken).ConfigureAwait(false);
        }
    }

    public void CopyTo(IBufferWriter<byte> writer)
    {
        if (IsBatch)
        {
            writer.Write(Open);
        }

        for (var i = 0; i < Count; i++)
        {
            if (IsBatch && i > 0)
            {
                writer.Write(Comma);
            }

            writer.Write(Part(i).Span);
        }

        if (IsBatch)
        {
            writer.Write(Close);
        }
    }

    public void Dispose()
    {
        _singleOwned?.Dispose();
        foreach (var result in _owned ?? [])
        {
            result?.Dispose();
        }
    }
}
