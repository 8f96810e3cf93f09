using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>One span as an OTLP collector receives it (the fields the tests read).</summary>
internal sealed record ReceivedSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// An OTLP/HTTP traces endpoint (`POST /v1/traces`, `application/x-protobuf`) on a real Kestrel
/// listener on loopback. It decodes ExportTraceServiceRequest with a small protobuf wire reader
/// (no generated code: OpenTelemetry.Proto is not a package here) and answers 200 with an empty
/// ExportTraceServiceResponse, as a collector does.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly FakeServer _server;

    private OtlpReceiver(FakeServer server) => _server = server;

    public string Url => _server.Url;

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public ConcurrentQueue<string> ContentTypes { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        OtlpReceiver? receiver = null;
        var server = await FakeServer.StartAsync(app => app.MapPost("/v1/traces", async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            receiver!.ContentTypes.Enqueue(context.Request.ContentType ?? "");
            foreach (var span in Decode(buffer.ToArray()))
            {
                receiver.Spans.Enqueue(span);
            }

            context.Response.ContentType = "application/x-protobuf";
            await context.Response.Body.WriteAsync(Array.Empty<byte>());
        })).ConfigureAwait(false);
        receiver = new OtlpReceiver(server);
        return receiver;
    }

    /// <summary>ExportTraceServiceRequest{1: ResourceSpans{2: ScopeSpans{2: Span}}}.</summary>
    internal static IEnumerable<ReceivedSpan> Decode(byte[] request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans.Bytes).Where(f => f.Number == 2))
            {
                foreach (var span in Fields(scopeSpans.Bytes).Where(f => f.Number == 2))
                {
                    yield return DecodeSpan(span.Bytes);
                }
            }
        }
    }

    private static ReceivedSpan DecodeSpan(byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        var attributes = new Dictionary<string, string>();
        foreach (var field in Fields(span))
        {
            switch (field.Number)
            {
                case 1: traceId = Convert.ToHexStringLower(field.Bytes); break;
                case 2: spanId = Convert.ToHexStringLower(field.Bytes); break;
                case 4: parent = Convert.ToHexStringLower(field.Bytes); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(field.Bytes); break;
                case 6: kind = (int)field.Varint; break;
                case 9:
                    // KeyValue{1: key, 2: AnyValue{1: string_value, 3: int_value, …}}
                    var key = "";
                    var value = "";
                    foreach (var kv in Fields(field.Bytes))
                    {
                        if (kv.Number == 1)
                        {
                            key = System.Text.Encoding.UTF8.GetString(kv.Bytes);
                        }
                        else if (kv.Number == 2)
                        {
                            foreach (var any in Fields(kv.Bytes))
                            {
                                value = any.Number == 1 ? System.Text.Encoding.UTF8.GetString(any.Bytes) : any.Varint.ToString(System.Globalization.CultureInfo.InvariantCulture);
                            }
                        }
                    }

                    attributes[key] = value;
                    break;
            }
        }

        return new ReceivedSpan(traceId, spanId, parent, name, kind, attributes);
    }

    private readonly record struct Field(int Number, ulong Varint, byte[] Bytes);

    /// <summary>The top-level fields of one protobuf message (wire types 0, 1, 2, 5).</summary>
    private static List<Field> Fields(byte[] message)
    {
        var fields = new List<Field>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    fields.Add(new Field(number, ReadVarint(message, ref position), []));
                    break;
                case 1:
                    fields.Add(new Field(number, BitConverter.ToUInt64(message, position), []));
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref position);
                    fields.Add(new Field(number, 0, message[position..(position + length)]));
                    position += length;
                    break;
                case 5:
                    fields.Add(new Field(number, BitConverter.ToUInt32(message, position), []));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"unsupported protobuf wire type in tag {tag}");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(byte[] buffer, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = buffer[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("varint longer than 64 bits");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
