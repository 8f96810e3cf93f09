namespace RpcShield.JsonRpc;

/// <summary>RpcShield's own JSON-RPC error codes (DESIGN.md); upstream errors pass through untouched.</summary>
internal static class RpcErrorCodes
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    /// <summary>JSON-RPC 2.0 internal error: an unexpected failure inside RpcShield (HTTP 500).</summary>
    public const int InternalError = -32603;
    public const int NoUpstream = -32090;
    public const int MinimalMode = -32091;
    public const int Shed = -32092;
    public const int TooLarge = -32093;
    public const int Chaos = -32094;
    public const int AllBuildersFailed = -32095;
    public const int UnknownChain = -32096;
}
