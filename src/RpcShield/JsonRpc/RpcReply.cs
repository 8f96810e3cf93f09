using System.Buffers;
using System.IO.Pipelines;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// The answer to one envelope: one part per answered item (upstream bytes passed through or a
/// local error), written as a single object or a batch array in the client's order.
/// </summary>
public sealed class RpcReply : IDisposable
{
    private static readonly byte[] Open = "["u8.ToArray();
    private static readonly byte[] Comma = ","u8.ToArray();
    private static readonly byte[] Close = "]"u8.ToArray();

    private readonly List<ReadOnlyMemory<byte>> _parts;
    private readonly ForwardResult?[] _owned;

    public RpcReply(bool isBatch, int statusCode, List<ReadOnlyMemory<byte>> parts, ForwardResult?[] owned)
    {
        IsBatch = isBatch;
        StatusCode = statusCode;
        _parts = parts;
        _owned = owned;
    }

    public bool IsBatch { get; }

    public int StatusCode { get; }

    /// <summary>True when nothing is to be sent back (notifications only).</summary>
    public bool IsEmpty => _parts.Count == 0;

    public static RpcReply LocalError(int statusCode, int code, string message) =>
        new(false, statusCode, [RpcResponseWriter.ErrorBytes(default, code, message)], []);

    public long Length
    {
        get
        {
            long length = 0;
            foreach (var part in _parts)
            {
                length += part.Length;
            }

            return IsBatch ? length + 2 + Math.Max(0, _parts.Count - 1) : length;
        }
    }

    public async ValueTask WriteToAsync(PipeWriter writer, CancellationToken cancellationToken)
    {
        if (IsBatch)
        {
            await writer.WriteAsync(Open, cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < _parts.Count; i++)
        {
            if (IsBatch && i > 0)
            {
                await writer.WriteAsync(Comma, cancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(_parts[i], cancellationToken).ConfigureAwait(false);
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

        for (var i = 0; i < _parts.Count; i++)
        {
            if (IsBatch && i > 0)
            {
                writer.Write(Comma);
            }

            writer.Write(_parts[i].Span);
        }

        if (IsBatch)
        {
            writer.Write(Close);
        }
    }

    public void Dispose()
    {
        foreach (var result in _owned)
        {
            result?.Dispose();
        }
    }
}
