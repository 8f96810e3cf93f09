using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RpcShield.Bench;

/// <summary>
/// A fast fixed-answer JSON-RPC node on loopback: answers eth_chainId with the bench chain id,
/// eth_getLogs with a ~1 MB result, everything else with a small eth_blockNumber-style result.
/// `failEvery` makes every Nth request an HTTP 500 (the failover scenario).
/// </summary>
internal sealed class StaticUpstream : IAsyncDisposable
{
    public const long ChainId = 31337;
    private static readonly byte[] Small = """{"jsonrpc":"2.0","id":1,"result":"0x1234567"}"""u8.ToArray();
    private static readonly byte[] ChainIdAnswer = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"result":"0x{{ChainId:x}}"}""");
    private static readonly byte[] Large = BuildLargeLogs(1024 * 1024);
    private WebApplication? _app;
    private long _count;

    private StaticUpstream(int failEvery) => FailEvery = failEvery;

    public int FailEvery { get; }

    public string Url { get; private set; } = "";

    public int Port { get; private set; }

    public static async Task<StaticUpstream> StartAsync(int failEvery = 0)
    {
        var upstream = new StaticUpstream(failEvery);
        (upstream._app, upstream.Url) = await LoopbackApp.StartAsync(upstream.HandleAsync).ConfigureAwait(false);
        upstream.Port = new Uri(upstream.Url).Port;
        return upstream;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var sawChainId = false;
        var sawLogs = false;
        byte[]? batch = null;
        byte[]? block = null;
        while (true)
        {
            var read = await reader.ReadAsync().ConfigureAwait(false);
            if (!read.IsCompleted)
            {
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                continue;
            }

            sawChainId = Contains(read.Buffer, "eth_chainId"u8);
            sawLogs = Contains(read.Buffer, "eth_getLogs"u8);
            if (read.Buffer.FirstSpan is [(byte)'[', ..])
            {
                batch = BatchAnswer(read.Buffer.ToArray());
            }
            else if (Contains(read.Buffer, "eth_getBlockByNumber"u8))
            {
                block = BlockAnswer(read.Buffer.ToArray());
            }

            reader.AdvanceTo(read.Buffer.End);
            break;
        }

        if (FailEvery > 0 && !sawChainId && Interlocked.Increment(ref _count) % FailEvery == 0)
        {
            context.Response.StatusCode = 500;
            return;
        }

        var body = batch ?? block ?? (sawChainId ? ChainIdAnswer : sawLogs ? Large : Small);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.BodyWriter.WriteAsync(body).ConfigureAwait(false);
    }

    private static bool Contains(System.Buffers.ReadOnlySequence<byte> body, ReadOnlySpan<byte> text) =>
        body.IsSingleSegment ? body.FirstSpan.IndexOf(text) >= 0 : body.ToArray().AsSpan().IndexOf(text) >= 0;

    /// <summary>A node's answer to a batch: a generated block for each eth_getBlockByNumber, the small result for every other request, each with its id.</summary>
    private static byte[] BatchAnswer(byte[] request)
    {
        var answer = new ArrayBufferWriter<byte>(request.Length * 8);
        answer.Write("["u8);
        var reader = new System.Text.Json.Utf8JsonReader(request);
        var first = true;
        ReadOnlySpan<byte> id = default;
        var isBlock = false;
        var number = SyntheticBlocks.Latest;
        while (reader.Read())
        {
            if (reader.CurrentDepth == 1 && reader.TokenType == System.Text.Json.JsonTokenType.StartObject)
            {
                id = default;
                (isBlock, number) = (false, SyntheticBlocks.Latest);
            }
            else if (reader.CurrentDepth == 2 && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = request.AsSpan((int)reader.TokenStartIndex, reader.ValueSpan.Length + (reader.TokenType == System.Text.Json.JsonTokenType.String ? 2 : 0));
                }
                else if (reader.ValueTextEquals("method"u8))
                {
                    reader.Read();
                    isBlock = reader.ValueTextEquals("eth_getBlockByNumber"u8);
                }
                else if (reader.ValueTextEquals("params"u8))
                {
                    reader.Read();
                    if (reader.TokenType == System.Text.Json.JsonTokenType.StartArray && reader.Read())
                    {
                        number = SyntheticBlocks.NumberOf(ref reader);
                    }

                    reader.Skip();
                }
            }
            else if (reader.CurrentDepth == 1 && reader.TokenType == System.Text.Json.JsonTokenType.EndObject)
            {
                if (!first)
                {
                    answer.Write(","u8);
                }

                if (isBlock)
                {
                    SyntheticBlocks.WriteAnswer(answer, id, number);
                }
                else
                {
                    answer.Write("""{"jsonrpc":"2.0","id":"""u8);
                    answer.Write(id);
                    answer.Write(""","result":"0x1234567"}"""u8);
                }

                first = false;
            }
        }

        answer.Write("]"u8);
        return answer.WrittenSpan.ToArray();
    }

    /// <summary>A generated block (~600 bytes) for any number (<see cref="SyntheticBlocks"/>).</summary>
    private static byte[] BlockAnswer(byte[] request)
    {
        var reader = new System.Text.Json.Utf8JsonReader(request);
        var number = SyntheticBlocks.Latest;
        while (reader.Read())
        {
            if (reader.TokenType == System.Text.Json.JsonTokenType.PropertyName && reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                reader.Read();
                number = SyntheticBlocks.NumberOf(ref reader);
                break;
            }
        }

        var answer = new ArrayBufferWriter<byte>(1024);
        SyntheticBlocks.WriteAnswer(answer, "1"u8, number);
        return answer.WrittenSpan.ToArray();
    }

    private static byte[] BuildLargeLogs(int size)
    {
        var sb = new StringBuilder("""{"jsonrpc":"2.0","id":1,"result":[""");
        var i = 0;
        while (sb.Length < size)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append($$"""{"address":"0x{{i:x40}}","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"],"data":"0x{{i:x64}}","blockNumber":"0x10","logIndex":"0x{{i:x}}","removed":false}""");
            i++;
        }

        sb.Append("]}");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Child-process mode (`--serve-upstream`): serves until stdin closes, after printing its URL.</summary>
    public static async Task ServeUntilStdinClosesAsync(int failEvery)
    {
        await using var upstream = await StartAsync(failEvery).ConfigureAwait(false);
        Console.WriteLine(UpstreamProcess.ListeningPrefix + upstream.Url);
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app!.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
