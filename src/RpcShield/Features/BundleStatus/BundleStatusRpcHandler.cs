using System.Text.Json;
using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// `rpcshield_getBundleStatus [bundleHash, targetBlock?]`: answered by RpcShield itself from the
/// <see cref="BundleStatusBook"/> (never forwarded) with
/// `{bundleHash, targetBlock, state, reason, detail, includedIn, builders}`. The same bundle sent for
/// several blocks has one hash: the target block picks one, the latest by default. Bad params and
/// unknown hashes are -32602 with a message saying what is wrong.
/// </summary>
internal sealed class BundleStatusRpcHandler(BundleStatusBook book) : IRpcHandler
{
    public const string Method = "rpcshield_getBundleStatus";

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    public bool Handles(ChainRuntime chain, string method) => string.Equals(method, Method, StringComparison.Ordinal);

    public ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        if (!TryParse(item.Params, out var hash, out var target, out var error))
        {
            return ValueTask.FromResult(ForwardResult.Error(RpcErrorCodes.InvalidParams, "Invalid params: " + error));
        }

        if (book.Get(call.Chain.Name, hash, target) is not { } status)
        {
            var known = target is not null && book.Get(call.Chain.Name, hash, null) is not null;
            return ValueTask.FromResult(ForwardResult.Error(RpcErrorCodes.InvalidParams, known
                ? $"Bundle {hash} was not sent for block {target} on chain {call.Chain.Name} (omit targetBlock for its latest target)"
                : $"Unknown bundle hash {hash} on chain {call.Chain.Name}: use the bundleHash RpcShield returned for eth_sendBundle (the last {BundleStatusBook.Capacity} bundles are kept)"));
        }

        var body = new PooledBuffer(512);
        RpcResponseWriter.WriteResult(body, item.Id.Span, w => Write(w, status));
        return ValueTask.FromResult(ForwardResult.Local(body));
    }

    internal static void Write(Utf8JsonWriter w, BundleStatusView status)
    {
        w.WriteStartObject();
        w.WriteString("bundleHash"u8, status.BundleHash);
        w.WriteString("targetBlock"u8, BundleSimulator.Hex(status.TargetBlock));
        w.WriteString("state"u8, status.State);
        w.WriteString("reason"u8, status.Reason);
        w.WriteString("detail"u8, status.Detail);
        if (status.IncludedIn is { } included)
        {
            w.WriteStartObject("includedIn"u8);
            w.WriteString("block"u8, BundleSimulator.Hex(included.Block));
            w.WriteString("builder"u8, included.Builder);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("includedIn"u8);
        }

        w.WriteStartArray("builders"u8);
        foreach (var builder in status.Builders)
        {
            w.WriteStartObject();
            w.WriteString("builder"u8, builder.Builder);
            w.WriteString("outcome"u8, builder.Outcome);
            w.WriteString("reason"u8, builder.Reason);
            w.WriteBoolean("late"u8, builder.AfterTarget);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static bool TryParse(ReadOnlyMemory<byte> @params, out string hash, out long? target, out string error)
    {
        (hash, target, error) = ("", null, "");
        const string Shape = "expected [bundleHash, targetBlock?]: bundleHash a 32-byte 0x-hex hash, targetBlock a hex quantity";
        try
        {
            using var document = JsonDocument.Parse(@params.IsEmpty ? "[]"u8.ToArray() : @params, new JsonDocumentOptions { MaxDepth = 8 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() is < 1 or > 2)
            {
                error = Shape;
                return false;
            }

            var text = root[0].ValueKind == JsonValueKind.String ? root[0].GetString() : null;
            if (text is not { Length: 66 } || !text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.AsSpan(2).IndexOfAnyExcept(HexDigits) >= 0)
            {
                error = "bundleHash must be a 32-byte 0x-hex hash (the bundleHash eth_sendBundle returned)";
                return false;
            }

            hash = text.ToLowerInvariant();
            if (root.GetArrayLength() == 2 && root[1].ValueKind != JsonValueKind.Null)
            {
                var block = root[1];
                if (block.ValueKind == JsonValueKind.Number && block.TryGetInt64(out var number) && number >= 0)
                {
                    target = number;
                }
                else if (block.ValueKind == JsonValueKind.String && HexQuantity.TryParse(block.GetString(), out var parsed))
                {
                    target = parsed;
                }
                else
                {
                    error = "targetBlock must be a hex quantity such as \"0x1234\"";
                    return false;
                }
            }

            return true;
        }
        catch (JsonException)
        {
            error = "params are not valid JSON";
            return false;
        }
    }
}
