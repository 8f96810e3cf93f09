namespace RpcShield.JsonRpc;

/// <summary>
/// One JSON-RPC request as the client sent it: the raw bytes (forwarded unchanged), the raw id
/// bytes (echoed in locally made errors) and the method. Params are never materialised.
/// </summary>
internal readonly struct RpcRequestItem
{
    public RpcRequestItem(ReadOnlyMemory<byte> raw, ReadOnlyMemory<byte> id, string method, ReadOnlyMemory<byte> @params)
    {
        Raw = raw;
        Id = id;
        Method = method;
        Params = @params;
    }

    public ReadOnlyMemory<byte> Raw { get; }

    /// <summary>Raw JSON of the id (`1`, `"abc"`, `null`); empty for a notification.</summary>
    public ReadOnlyMemory<byte> Id { get; }

    public string Method { get; }

    /// <summary>Raw JSON of params (empty when absent).</summary>
    public ReadOnlyMemory<byte> Params { get; }

    public bool IsNotification => Id.IsEmpty;
}

/// <summary>A batch slot that failed validation: answered locally with -32600.</summary>
internal readonly record struct InvalidItem(ReadOnlyMemory<byte> Id, string Message);
