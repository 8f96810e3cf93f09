using System.Net;
using System.Net.Sockets;
using RpcShield.JsonRpc;

namespace RpcShield.Upstreams;

/// <summary>
/// Decides whether an upstream's answer is the request's own answer (return it), a clear node
/// fault (try another node, count it against this one) or an error that only a second node can
/// judge (<see cref="AttemptKind.Unconfirmed"/>: -32603/-32000 with an unfamiliar message). The
/// rules are documented in docs/resilience.md ("Which errors are whose").
/// </summary>
internal static class FailureClassifier
{
    // Messages that mean "this node cannot answer now" (its state, sync or capacity), never the request's fault.
    private static readonly string[] NodeFaultMessages =
    [
        "header not found", "missing trie node", "unknown block", "block not found", "capacity", "busy", "unavailable",
        "no backend", "not synced", "syncing", "leveldb", "pruned", "state is not available", "service temporarily",
    ];

    // Messages that are the request's own answer: reverts, bad arguments, nonce, funds and gas.
    private static readonly string[] DeterministicMessages =
    [
        "execution reverted", "revert", "invalid argument", "invalid params", "nonce too", "insufficient funds",
        "already known", "intrinsic gas", "gas required exceeds", "invalid opcode", "out of gas", "fee per gas",
        "underpriced", "exceeds block gas limit", "gas limit reached",
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

        // 3: reverted with data; -32602: invalid params; -32003: transaction rejected (EIP-1474).
        if (reply.ErrorCode is 3 or -32602 or -32003 || ContainsAny(message, DeterministicMessages))
        {
            return AttemptKind.Answered;
        }

        // -32002 resource unavailable, -32001 resource not found (a block or state this node lacks).
        if (reply.ErrorCode is -32002 or -32001 || ContainsAny(message, NodeFaultMessages))
        {
            return AttemptKind.NodeError;
        }

        // -32603, -32000 and anything else unfamiliar ("internal error", "database", "timeout", an
        // EVM error): the request's answer if another node agrees, this node's fault if not.
        return AttemptKind.Unconfirmed;
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

    private static bool ContainsAny(string message, string[] fragments)
    {
        foreach (var fragment in fragments)
        {
            if (Contains(message, fragment))
            {
                return true;
            }
        }

        return false;
    }
}
