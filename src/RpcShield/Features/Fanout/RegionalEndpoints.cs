using RpcShield.Upstreams;

namespace RpcShield.Features.Fanout;

/// <summary>
/// The endpoints of one builder (`url` and `urls`: e.g. its eu/us/ap regions). Each is measured
/// (latency EWMA of every exchange with it, and a probe of the ones not in use) and submissions go
/// to the fastest healthy one; a region that fails (no connection, 5xx, timeout) is skipped for
/// <see cref="Cooldown"/> and the next one is tried. With one URL this is a constant.
/// </summary>
internal sealed class RegionalEndpoints
{
    /// <summary>How long a failed region ranks after the healthy ones.</summary>
    public static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(30);

    /// <summary>How often every region of a multi-region builder is measured.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(30);

    private const double Alpha = 0.3;

    private static readonly byte[] ProbeBody = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"web3_clientVersion\",\"params\":[]}"u8.ToArray();

    private readonly TimeProvider _time;
    private readonly Region[] _regions;

    public RegionalEndpoints(IReadOnlyList<string> urls, TimeProvider time)
    {
        _time = time;
        _regions = [.. urls.Select(u => new Region(new Uri(u), UrlRedaction.Redact(u)))];
    }

    public int Count => _regions.Length;

    public IReadOnlyList<Region> Regions => _regions;

    /// <summary>The region submissions go to now.</summary>
    public Region Current => _regions.Length == 1 ? _regions[0] : Ranked()[0];

    /// <summary>Regions best first: healthy ones by measured latency (unmeasured after measured), then failed ones.</summary>
    public Region[] Ranked()
    {
        if (_regions.Length == 1)
        {
            return _regions;
        }

        var now = _time.GetTimestamp();
        var ranked = (Region[])_regions.Clone();
        Array.Sort(ranked, (a, b) =>
        {
            var healthy = a.IsHealthy(now, _time).CompareTo(b.IsHealthy(now, _time));
            return healthy != 0 ? -healthy : a.SortKey.CompareTo(b.SortKey);
        });
        return ranked;
    }

    public bool IsHealthy(Region region) => region.IsHealthy(_time.GetTimestamp(), _time);

    /// <summary>Records one exchange with <paramref name="region"/>.</summary>
    public void Record(Region region, bool ok, TimeSpan latency)
    {
        if (ok)
        {
            region.Observe(latency.TotalMilliseconds);
            Interlocked.Exchange(ref region.FailedAt, 0);
        }
        else
        {
            Interlocked.Exchange(ref region.FailedAt, _time.GetTimestamp());
        }
    }

    /// <summary>
    /// Measures every region with one small JSON-RPC POST: any HTTP answer below 500 (builders may
    /// refuse the method) is a reachable region and its latency; no answer within
    /// <paramref name="timeout"/> or a 5xx marks it failed.
    /// </summary>
    public async Task ProbeAsync(HttpMessageInvoker invoker, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.WhenAll(_regions.Select(async region =>
        {
            var start = _time.GetTimestamp();
            var ok = false;
            try
            {
                using var deadline = new CancellationTokenSource(timeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                using var request = new HttpRequestMessage(HttpMethod.Post, region.Url) { Content = new ByteArrayContent(ProbeBody) };
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await invoker.SendAsync(request, linked.Token).ConfigureAwait(false);
                ok = (int)response.StatusCode < 500;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
            {
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                Record(region, ok, _time.GetElapsedTime(start));
            }
        })).ConfigureAwait(false);
    }

    /// <summary>One regional URL and what is known of it.</summary>
    internal sealed class Region(Uri url, string safeUrl)
    {
        // Written by concurrent submissions: a torn EWMA update only loses a sample.
        private double _latencyMs = double.NaN;

        internal long FailedAt;

        public Uri Url { get; } = url;

        /// <summary>scheme://host:port only.</summary>
        public string SafeUrl { get; } = safeUrl;

        /// <summary>Latency EWMA in ms (NaN before the first measurement).</summary>
        public double LatencyMs => Volatile.Read(ref _latencyMs);

        internal double SortKey => double.IsNaN(LatencyMs) ? double.MaxValue : LatencyMs;

        public bool IsHealthy(long now, TimeProvider time)
        {
            var failed = Interlocked.Read(ref FailedAt);
            return failed == 0 || time.GetElapsedTime(failed, now) >= Cooldown;
        }

        internal void Observe(double ms)
        {
            var previous = LatencyMs;
            Volatile.Write(ref _latencyMs, double.IsNaN(previous) ? ms : previous + Alpha * (ms - previous));
        }
    }
}
