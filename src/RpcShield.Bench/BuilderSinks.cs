using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RpcShield.Bench;

/// <summary>
/// The fan-out scenario's local builders: in the bench's own process (they then share its thread
/// pool and GC with RpcShield), or in a child process of their own (the bench in its
/// `--serve-builders N` mode), asked over a small control endpoint for arrival counts and times.
/// </summary>
internal abstract class BuilderSinks : IAsyncDisposable
{
    public abstract IReadOnlyList<string> Urls { get; }

    /// <summary>Bodies each builder has read so far.</summary>
    public abstract Task<int[]> CountsAsync();

    /// <summary>Waits until builders 0..<c>before.Length</c>-1 each read one more body; the earliest and latest of those arrival times (Stopwatch ticks).</summary>
    public abstract Task<(long First, long Last)> ArrivalsAsync(int[] before);

    public abstract ValueTask DisposeAsync();

    public static async Task<BuilderSinks> StartAsync(int count, bool separateProcess) =>
        separateProcess ? await SinkProcess.StartAsync(count).ConfigureAwait(false) : await InProcess.StartAsync(count).ConfigureAwait(false);

    /// <summary>`--serve-builders N`: N builders and a control endpoint until stdin closes; prints `LISTENING control url0 url1 …`.</summary>
    public static async Task ServeUntilStdinClosesAsync(int count)
    {
        await using var sinks = await InProcess.StartAsync(count).ConfigureAwait(false);
        var (control, url) = await LoopbackApp.StartAsync(async context =>
        {
            string answer;
            if (context.Request.Path == "/counts")
            {
                answer = string.Join(',', await sinks.CountsAsync().ConfigureAwait(false));
            }
            else
            {
                var before = context.Request.Query["after"].ToString().Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
                var (first, last) = await sinks.ArrivalsAsync(before).ConfigureAwait(false);
                answer = string.Create(CultureInfo.InvariantCulture, $"{first},{last}");
            }

            await context.Response.WriteAsync(answer).ConfigureAwait(false);
        }).ConfigureAwait(false);
        await using (control.ConfigureAwait(false))
        {
            Console.WriteLine($"{BenchChildProcess.ListeningPrefix}{url} {string.Join(' ', sinks.Urls)}");
            await Console.In.ReadToEndAsync().ConfigureAwait(false);
        }
    }

    private sealed class InProcess(List<BuilderSink> sinks) : BuilderSinks
    {
        public override IReadOnlyList<string> Urls => [.. sinks.Select(s => s.Url)];

        public static async Task<InProcess> StartAsync(int count)
        {
            var sinks = new List<BuilderSink>();
            for (var i = 0; i < count; i++)
            {
                sinks.Add(await BuilderSink.StartAsync().ConfigureAwait(false));
            }

            return new InProcess(sinks);
        }

        public override Task<int[]> CountsAsync() => Task.FromResult(sinks.Select(s => s.Count).ToArray());

        public override async Task<(long First, long Last)> ArrivalsAsync(int[] before)
        {
            (long first, long last) = (long.MaxValue, 0);
            for (var s = 0; s < before.Length; s++)
            {
                var arrival = await sinks[s].WaitForArrivalAsync(before[s]).ConfigureAwait(false);
                (first, last) = (Math.Min(first, arrival), Math.Max(last, arrival));
            }

            return (first, last);
        }

        public override async ValueTask DisposeAsync()
        {
            foreach (var sink in sinks)
            {
                await sink.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class SinkProcess(Process process, HttpClient control, string[] urls) : BuilderSinks
    {
        public override IReadOnlyList<string> Urls => urls;

        public static async Task<SinkProcess> StartAsync(int count)
        {
            var (process, listening) = await BenchChildProcess.StartAsync("--serve-builders", count.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
            var parts = listening.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return new SinkProcess(process, new HttpClient { BaseAddress = new Uri(parts[0]) }, parts[1..]);
        }

        public override async Task<int[]> CountsAsync() =>
            [.. (await control.GetStringAsync("/counts").ConfigureAwait(false)).Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))];

        public override async Task<(long First, long Last)> ArrivalsAsync(int[] before)
        {
            var answer = (await control.GetStringAsync("/arrivals?after=" + string.Join(',', before)).ConfigureAwait(false)).Split(',');
            return (long.Parse(answer[0], CultureInfo.InvariantCulture), long.Parse(answer[1], CultureInfo.InvariantCulture));
        }

        public override async ValueTask DisposeAsync()
        {
            control.Dispose();
            await BenchChildProcess.StopAsync(process).ConfigureAwait(false);
        }
    }
}
