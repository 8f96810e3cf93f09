using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RpcShield.Features.BundleStatus;

/// <summary>
/// The `note` of a `bundle_status` journal row: what the row's columns do not hold (detail, the
/// builders' answers, the transaction hashes, replacementUuid), as compact JSON, so a restarted
/// RpcShield answers `rpcshield_getBundleStatus` as before.
/// </summary>
internal static class BundleStatusNote
{
    public static string Write(BundleStatusView view, IReadOnlyList<string> txHashes, string? uuid)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("detail"u8, view.Detail);
            if (view.IncludedIn is { } included)
            {
                writer.WriteNumber("included_block"u8, included.Block);
            }

            writer.WriteString("uuid"u8, uuid);
            writer.WriteStartArray("builders"u8);
            foreach (var b in view.Builders)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(b.Builder);
                writer.WriteStringValue(b.Outcome);
                writer.WriteStringValue(b.Reason.Length > 120 ? b.Reason[..120] : b.Reason);
                writer.WriteBooleanValue(b.AfterTarget);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("txs"u8);
            foreach (var hash in txHashes)
            {
                writer.WriteStringValue(hash);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads a note back; a clipped or foreign note gives what could be read (never throws).</summary>
    public static (string? Detail, long? IncludedBlock, string? Uuid, List<BuilderAnswer> Builders, List<string> TxHashes) Read(string? note)
    {
        var builders = new List<BuilderAnswer>();
        var txs = new List<string>();
        if (string.IsNullOrEmpty(note))
        {
            return (null, null, null, builders, txs);
        }

        try
        {
            using var document = JsonDocument.Parse(note);
            var root = document.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            long? block = root.TryGetProperty("included_block", out var b) && b.TryGetInt64(out var n) ? n : null;
            if (root.TryGetProperty("builders", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 4)
                    {
                        builders.Add(new BuilderAnswer(item[0].GetString() ?? "?", item[1].GetString() ?? "?", item[2].GetString() ?? "", item[3].ValueKind == JsonValueKind.True));
                    }
                }
            }

            if (root.TryGetProperty("txs", out var hashes) && hashes.ValueKind == JsonValueKind.Array)
            {
                txs.AddRange(hashes.EnumerateArray().Where(h => h.ValueKind == JsonValueKind.String).Select(h => h.GetString()!));
            }

            return (Text("detail"), block, Text("uuid"), builders, txs);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return (null, null, null, builders, txs);
        }
    }
}
