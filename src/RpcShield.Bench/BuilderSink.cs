using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;

namespace RpcShield.Bench;

/// <summary>A local builder that answers like Flashbots and timestamps each fully read body (Stopwatch ticks: CLOCK_MONOTONIC, comparable across processes).</summary>
internal sealed class BuilderSink : IAsyncDisposable
{
    private static readonly byte[] Answer = """{"jsonrpc":"2.0","id":1,"result":{"bundleHash":"0x1111111111111111111111111111111111111111111111111111111111111111"}}"""u8.ToArray();
    private readonly ConcurrentQueue<long> _arrivals = new();
    private WebApplication? _app;

    public string Url { get; private set; } = "";

    public int Count => _arrivals.Count;

    public static async Task<BuilderSink> StartAsync()
    {
        var sink = new BuilderSink();
        (sink._app, var url) = await LoopbackApp.StartAsync(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null).ConfigureAwait(false);
            sink._arrivals.Enqueue(Stopwatch.GetTimestamp());
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(Answer).ConfigureAwait(false);
        }).ConfigureAwait(false);
        sink.Url = url + "/";
        return sink;
    }

    /// <summary>Timestamp of the arrival after <paramref name="seen"/> earlier ones.</summary>
    public async Task<long> WaitForArrivalAsync(int seen)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 5;
        while (_arrivals.Count <= seen)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("a builder never received the bundle");
            }

            await Task.Delay(1).ConfigureAwait(false);
        }

        return _arrivals.ElementAt(seen);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
