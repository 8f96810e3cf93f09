using System.Text.Json;
using System.Text.Json.Nodes;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Conformance;

/// <summary>One recorded request/response pair of the execution-apis corpus.</summary>
internal sealed record Exchange(string File, string Request, string Response, string Method, string Key);

/// <summary>
/// Reads `tests/data/execution-apis/**.io` (copied into the repository, see tests/data/README.md):
/// `>>` lines are requests, `<<` lines the node's answers, in order.
/// </summary>
internal static class ConformanceCorpus
{
    public static string Directory => Path.Combine(Tools.TestDataDirectory, "execution-apis");

    public static IReadOnlyList<Exchange> Load()
    {
        var exchanges = new List<Exchange>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*.io", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string? request = null;
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith(">> ", StringComparison.Ordinal))
                {
                    request = line[3..];
                }
                else if (line.StartsWith("<< ", StringComparison.Ordinal) && request is not null)
                {
                    var node = JsonNode.Parse(request)!;
                    var method = node["method"]!.GetValue<string>();
                    exchanges.Add(new Exchange(Path.GetRelativePath(Directory, file), request, line[3..], method, Key(method, node["params"])));
                    request = null;
                }
            }
        }

        return exchanges;
    }

    /// <summary>Match key: method plus params with object keys sorted (absent params stay distinct from []).</summary>
    public static string Key(string method, JsonNode? @params) => method + " " + (@params is null ? "-" : Canonical(@params));

    public static string Canonical(JsonNode? node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            WriteCanonical(writer, node);
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (name, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(name);
                    WriteCanonical(writer, value);
                }

                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
