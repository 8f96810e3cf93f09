using System.Collections.Concurrent;
using Polly;
using RpcShield.Configuration;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Features.Fanout;

/// <summary>
/// One builder of one chain: its pooled HTTP client (keep-alive / HTTP/2 reuse), rate budget,
/// submission pipeline, metric children and running statistics for `/status`. An instance survives
/// reloads while chain, name and URL stay the same.
/// </summary>
internal sealed class BuilderEndpoint : IDisposable
{
    private readonly RpcShieldMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string Method, string Outcome), Prometheus.Counter.Child> _submissions = new();
    private volatile BuilderOptions _options;
    private volatile BuilderSettings _settings;
    private readonly ITimer? _probe;
    private readonly CancellationTokenSource _disposed = new();
    private volatile TokenBucket? _budget;
    private long _ok;
    private long _error;
    private long _timeout;
    private long _throttled;
    private long _included;
    private long _notIncluded;
    private long _lost;

    public BuilderEndpoint(string chain, BuilderOptions options, HttpMessageInvoker invoker, TimeProvider time, RpcShieldMetrics metrics)
    {
        Chain = chain;
        Name = options.Name;
        UrlList = UrlsOf(options);
        Regions = new RegionalEndpoints(UrlList, time);
        if (Regions.Count > 1)
        {
            // Every region is measured now and then, so the fastest is known before it is needed.
            _probe = time.CreateTimer(static state => ((BuilderEndpoint)state!).Probe(), this, TimeSpan.Zero, RegionalEndpoints.ProbeInterval);
        }
        Invoker = invoker;
        _time = time;
        _metrics = metrics;
        _options = options;
        _settings = BuilderSettings.Resolve(options);
        _budget = _settings.MaxRps > 0 ? new TokenBucket(_settings.MaxRps, time) : null;
        Duration = metrics.BuilderDuration.WithLabels(chain, options.Name);
    }

    public string Chain { get; }

    public string Name { get; }

    /// <summary>`url` then `urls` (the identity of the endpoint across reloads).</summary>
    public string[] UrlList { get; }

    /// <summary>The builder's regional endpoints, ranked by measured latency and health.</summary>
    public RegionalEndpoints Regions { get; }

    /// <summary>The endpoint in use now.</summary>
    public Uri Url => Regions.Current.Url;

    /// <summary>scheme://host:port of the endpoint in use (URLs may carry keys).</summary>
    public string SafeUrl => Regions.Current.SafeUrl;

    public static string[] UrlsOf(BuilderOptions options) =>
        [.. new[] { options.Url }.Where(u => u.Length > 0).Concat(options.Urls).Distinct(StringComparer.Ordinal)];

    public HttpMessageInvoker Invoker { get; }

    public BuilderOptions Options
    {
        get => _options;
        set
        {
            var settings = BuilderSettings.Resolve(value);
            if (settings.MaxRps != _settings.MaxRps)
            {
                _budget = settings.MaxRps > 0 ? new TokenBucket(settings.MaxRps, _time) : null;
            }

            _settings = settings;
            _options = value;
        }
    }

    /// <summary>The effective settings: the profile's defaults overridden by the builder's own keys.</summary>
    public BuilderSettings Settings => _settings;

    internal Prometheus.Histogram.Child Duration { get; }

    /// <summary>Per-builder submission pipeline (built lazily from the contributors).</summary>
    internal ResiliencePipeline<BuilderOutcome>? Pipeline { get; set; }

    public bool UsesEmptyBundleCancel => Settings.UsesEmptyBundleCancel;

    /// <summary>True when the builder accepts the fan-out method <paramref name="method"/> (per its profile and `methods`).</summary>
    public bool Supports(string method) => Settings.SentMethod(method) is not null;

    /// <summary>Takes one token of the `max_rps` budget (always true when unlimited).</summary>
    public bool TryAcquire() => _budget?.TryTake() ?? true;

    /// <summary>Counts a finished submission in metrics and the `/status` statistics.</summary>
    public void RecordSubmission(string method, BuilderOutcome outcome)
    {
        _submissions.GetOrAdd((JsonRpc.KnownMethods.Label(method), outcome.Label), static (k, s) => s._metrics.BuilderSubmissions.WithLabels(s.Chain, s.Name, k.Method, k.Outcome), this).Inc();
        if (outcome.Kind != BuilderOutcomeKind.Throttled || outcome.StatusCode != 0)
        {
            Duration.Observe(outcome.Latency.TotalSeconds);
        }

        switch (outcome.Kind)
        {
            case BuilderOutcomeKind.Ok:
                Interlocked.Increment(ref _ok);
                break;
            case BuilderOutcomeKind.Timeout:
                Interlocked.Increment(ref _timeout);
                break;
            case BuilderOutcomeKind.Throttled:
                Interlocked.Increment(ref _throttled);
                break;
            default:
                Interlocked.Increment(ref _error);
                break;
        }
    }

    /// <summary>Counts a bundle outcome for a block this builder built (or, for `other`, nobody configured).</summary>
    public void RecordInclusion(string outcome)
    {
        switch (outcome)
        {
            case "included":
                Interlocked.Increment(ref _included);
                break;
            case "lost":
                Interlocked.Increment(ref _lost);
                break;
            default:
                Interlocked.Increment(ref _notIncluded);
                break;
        }
    }

    public BuilderStats Stats() => new(
        Interlocked.Read(ref _ok), Interlocked.Read(ref _error), Interlocked.Read(ref _timeout), Interlocked.Read(ref _throttled),
        Interlocked.Read(ref _included), Interlocked.Read(ref _notIncluded), Interlocked.Read(ref _lost));

    private void Probe()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _ = Regions.ProbeAsync(Invoker, Options.Timeout, _disposed.Token);
        }
    }

    public void Dispose()
    {
        _probe?.Dispose();
        _disposed.Cancel();
        _disposed.Dispose();
        Invoker.Dispose();
    }

    public override string ToString() => Name;
}

/// <summary>Running totals of one builder since start (for `/status`).</summary>
internal readonly record struct BuilderStats(long Ok, long Error, long Timeout, long Throttled, long Included, long NotIncluded, long Lost)
{
    public long Submissions => Ok + Error + Timeout + Throttled;

    /// <summary>Accepted / all submissions (null before the first).</summary>
    public double? SuccessRate => Submissions == 0 ? null : (double)Ok / Submissions;

    public long Decided => Included + NotIncluded + Lost;

    /// <summary>Included / bundles decided in blocks this builder built (null before the first).</summary>
    public double? InclusionRate => Decided == 0 ? null : (double)Included / Decided;
}
