using System.Text;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>
/// Client requests sent back to back by <c>workers</c> loops until stopped (at most
/// <c>maxPerWorker</c> each); every request that failed (HTTP error, JSON-RPC error, exception) is kept.
/// </summary>
internal sealed class SteadyLoad
{
    private readonly List<string> _failures = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private int _sent;

    public int Sent => Volatile.Read(ref _sent);

    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_failures)
            {
                return _failures.ToArray();
            }
        }
    }

    /// <summary>Starts the loops; <paramref name="body"/> makes request i of worker w.</summary>
    public static SteadyLoad Start(HttpClient client, Func<int, int, string> body, int workers = 1, int maxPerWorker = 20_000)
    {
        var load = new SteadyLoad();
        load._running = Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(() => load.RunAsync(client, worker, body, maxPerWorker))));
        return load;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync(HttpClient client, int worker, Func<int, int, string> body, int max)
    {
        for (var i = 1; i <= max && !_stop.IsCancellationRequested; i++)
        {
            try
            {
                using var response = await client.PostAsync("/", new StringContent(body(worker, i), Encoding.UTF8, "application/json")).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _sent);
                if (!response.IsSuccessStatusCode || text.Contains("\"error\"", StringComparison.Ordinal))
                {
                    Fail(text);
                }
            }
            catch (Exception ex)
            {
                Fail(ex.Message);
            }
        }
    }

    private void Fail(string what)
    {
        lock (_failures)
        {
            _failures.Add(what);
        }
    }
}
