using System.Net;
using System.Net.Sockets;
using RpcShield.JsonRpc;

namespace RpcShield.Upstreams;

/// <summary>
/// Decides whether an upstream's answer is the node's fault (try another node) or the request's
/// own answer (return it). Deterministic errors such as reverts and invalid params are never retried.
/// </summary>
internal static class FailureClassifier
{
    // Messages that mean "this node cannot answer now", not "the request is wrong".
    private static readonly string[] NodeFaultMessages =
    [
        "header not found", "missing trie node", "unknown block", "block not found", "request timed out", "timeout",
        "internal error", "rate limit", "too many requests", "capacity", "busy", "unavailable", "no backend",
        "not synced", "syncing", "leveldb", "database", "pruned", "state is not available", "service temporarily",
    ];

    private static readonly string[] DeterministicMessages =
    [
        "execution reverted", "revert", "invalid argument", "invalid params", "nonce too low", "insufficient funds",
        "already known", "intrinsic gas", "gas required exceeds", "invalid opcode", "out of gas",
    ];

    public static AttemptKind ClassifyReply(UpstreamReply reply)
    {
        if (!reply.IsJsonRpc)
        {
            return AttemptKind.HttpError;
        }

        if (!reply.HasError)
        {
            return AttemptKind.Answered;
        }

        var message = reply.ErrorMessage ?? "";
        if (reply.ErrorCode == -32005 || Contains(message, "rate limit") || Contains(message, "too many requests"))
        {
            return AttemptKind.Throttled;
        }

        if (reply.ErrorCode == -32601)
        {
            return AttemptKind.Unsupported;
        }

        foreach (var deterministic in DeterministicMessages)
        {
            if (Contains(message, deterministic))
            {
                return AttemptKind.Answered;
            }
        }

        if (reply.ErrorCode is -32603 or -32002 or -32001)
        {
            return AttemptKind.NodeError;
        }

        foreach (var fault in NodeFaultMessages)
        {
            if (Contains(message, fault))
            {
                return AttemptKind.NodeError;
            }
        }

        return AttemptKind.Answered;
    }

    public static AttemptKind ClassifyStatus(HttpStatusCode status) => (int)status switch
    {
        429 => AttemptKind.Throttled,
        >= 200 and < 300 => AttemptKind.Answered,
        _ => AttemptKind.HttpError,
    };

    /// <summary>Reason text for a transport exception, and whether it is decisive (nothing listens there).</summary>
    public static (string Reason, bool Hard) Describe(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => ("connection_refused", true),
                    SocketError.ConnectionReset => ("connection_reset", false),
                    SocketError.HostNotFound or SocketError.NoData => ("dns_failure", true),
                    SocketError.TimedOut => ("connect_timeout", false),
                    _ => ($"socket_{socket.SocketErrorCode.ToString().ToLowerInvariant()}", false),
                };
            }

            if (e is HttpIOException io)
            {
                return ($"http_io_{io.HttpRequestError.ToString().ToLowerInvariant()}", false);
            }
        }

        return exception is HttpRequestException http && http.HttpRequestError != HttpRequestError.Unknown
            ? ($"http_{http.HttpRequestError.ToString().ToLowerInvariant()}", false)
            : ("transport_error", false);
    }

    private static bool Contains(string message, string fragment) => message.Contains(fragment, StringComparison.OrdinalIgnoreCase);
}
