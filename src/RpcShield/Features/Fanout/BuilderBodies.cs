using System.Text.Json;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Fanout;

/// <summary>
/// The body each builder of one fan-out is sent, in its dialect: the bot's exact bytes where the
/// builder takes them as they are; otherwise a rewrite (another method name, a private transaction
/// as a raw one, an empty-txs cancel, the other dialects' bundle fields removed). Builders of the
/// same dialect share one body instance, so <see cref="SignatureCache"/> signs each distinct body once.
/// Fields are only ever removed when the builder's settings name them: the bot's own fields reach
/// every builder that takes them, unknown fields included.
/// </summary>
internal sealed class BuilderBodies(byte[] original, string method, BundleSubmission submission, ReadOnlyMemory<byte> id)
{
    private Dictionary<string, byte[]>? _rewritten;

    public byte[] Original => original;

    /// <summary>The body and method for a builder with <paramref name="settings"/> (which takes <paramref name="method"/>).</summary>
    public (byte[] Body, string Method) For(BuilderSettings settings)
    {
        var sent = settings.SentMethod(method) ?? method;
        if (method == "eth_cancelBundle" && sent == "eth_sendBundle")
        {
            return (Cached("cancel:" + sent, () => FanoutHandler.CancelBody(id.Span, submission.ReplacementUuid!, emptyBundle: true)), sent);
        }

        if (sent != method)
        {
            return (Cached(sent, () => Rewrite(sent, null)), sent);
        }

        if (settings.DropFields.Count == 0 || submission.Fields.Count == 0)
        {
            return (original, sent);
        }

        List<string>? dropped = null;
        foreach (var field in submission.Fields)
        {
            if (settings.DropFields.Contains(field))
            {
                (dropped ??= []).Add(field);
            }
        }

        if (dropped is null)
        {
            return (original, sent);
        }

        dropped.Sort(StringComparer.Ordinal);
        return (Cached("drop:" + string.Join(',', dropped), () => Rewrite(sent, dropped)), sent);
    }

    /// <summary>
    /// A cancel (the bot's eth_cancelBundle or empty-txs eth_sendBundle) for a builder recorded as
    /// cancelling in <paramref name="cancelStyle"/>: `empty_bundle` → an empty-txs eth_sendBundle,
    /// otherwise eth_cancelBundle. The bot's own bytes where they already are that form.
    /// </summary>
    public (byte[] Body, string Method) ForCancel(string cancelStyle)
    {
        var empty = cancelStyle == "empty_bundle";
        var sent = empty ? "eth_sendBundle" : "eth_cancelBundle";
        if (method == sent)
        {
            return (original, sent);
        }

        return (Cached("cancel:" + sent, () => FanoutHandler.CancelBody(id.Span, submission.ReplacementUuid!, empty)), sent);
    }

    private byte[] Cached(string key, Func<byte[]> make)
    {
        _rewritten ??= new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (!_rewritten.TryGetValue(key, out var body))
        {
            body = make();
            _rewritten[key] = body;
        }

        return body;
    }

    /// <summary>The bot's request with <paramref name="sent"/> as method and its params in that method's shape.</summary>
    private byte[] Rewrite(string sent, List<string>? dropped)
    {
        using var document = JsonDocument.Parse(original);
        using var buffer = new PooledBuffer(original.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("method"u8))
                {
                    writer.WriteString("method"u8, sent);
                }
                else if (property.NameEquals("params"u8) && property.Value.ValueKind == JsonValueKind.Array)
                {
                    writer.WritePropertyName("params"u8);
                    WriteParams(writer, property.Value, sent, dropped);
                }
                else
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.Span.ToArray();
    }

    private void WriteParams(Utf8JsonWriter writer, JsonElement parameters, string sent, List<string>? dropped)
    {
        writer.WriteStartArray();
        if (method == "eth_sendPrivateTransaction" && sent != method)
        {
            // {tx, maxBlockNumber, preferences} → the raw transaction alone (validated by BundleSubmission).
            parameters[0].GetProperty("tx").WriteTo(writer);
        }
        else if (method == "eth_sendPrivateRawTransaction" && sent != method)
        {
            parameters[0].WriteTo(writer);
        }
        else
        {
            var first = true;
            foreach (var element in parameters.EnumerateArray())
            {
                if (first && dropped is not null && element.ValueKind == JsonValueKind.Object)
                {
                    writer.WriteStartObject();
                    foreach (var field in element.EnumerateObject())
                    {
                        if (!dropped.Contains(field.Name))
                        {
                            field.WriteTo(writer);
                        }
                    }

                    writer.WriteEndObject();
                }
                else
                {
                    element.WriteTo(writer);
                }

                first = false;
            }
        }

        writer.WriteEndArray();
    }
}
