using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RpcShield.JsonRpc;

/// <summary>
/// After answering 413 to a body that is still arriving, reads and discards a bounded amount of
/// it before the connection closes (nginx's lingering close). Closing a socket with unread data
/// makes the kernel send a reset, and a client still writing its body then loses the JSON error
/// it was sent; draining lets it finish writing and read the answer.
/// </summary>
internal static class OversizeBodyDrain
{
    /// <summary>Longest a drain may take; a client slower than this gets the reset after all.</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(2);

    /// <summary>Most bytes discarded for one request (a declared 10 GB body is not read to its end).</summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    public static async Task DrainAsync(HttpContext context)
    {
        // The answer goes out first: the client reads it while (or after) it finishes sending.
        await context.Response.CompleteAsync().ConfigureAwait(false);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // The declared length is over Kestrel's own limit too; MaxBytes bounds the drain instead.
            limit.MaxRequestBodySize = null;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(MaxTime);
        var reader = context.Request.BodyReader;
        long drained = 0;
        try
        {
            while (drained < MaxBytes)
            {
                var read = await reader.ReadAsync(deadline.Token).ConfigureAwait(false);
                drained += read.Buffer.Length;
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or BadHttpRequestException or IOException)
        {
            // Out of time, over Kestrel's limit or the client went away: the connection closes now.
        }
    }
}
