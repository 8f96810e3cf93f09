using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RpcShield.Configuration;

namespace RpcShield.Chaos.Experiments;

/// <summary>
/// Runs a game day: baseline ► chaos ► recovery, with probes driven through the proxy the whole
/// time. The chaos phase arms the experiment's faults through the admin API (rules expire on
/// their own if the runner dies); the abort condition halts injection the moment it is broken.
/// </summary>
internal sealed class ExperimentRunner : IDisposable
{
    private static readonly TimeSpan MonitorInterval = TimeSpan.FromMilliseconds(50);

    private readonly ExperimentOptions _options;
    private readonly TimeProvider _time;
    private readonly TextWriter _log;
    private readonly HttpClient _http;
    private readonly Uri _target;
    private readonly Uri _admin;
    private readonly List<ProbeSample> _samples = [];
    private readonly Lock _lock = new();
    private readonly byte[][] _requests;
    private long _start;
    /// <summary>The phase of probes that started while faults were being taken away, or straddled a phase change: counted in none.</summary>
    private const string Disarming = "disarming";

    private volatile string _phase = "baseline";
    private int _next;

    public ExperimentRunner(ExperimentOptions options, TimeProvider time, TextWriter log, HttpMessageHandler? handler = null)
    {
        _options = options;
        _time = time;
        _log = log;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _target = new Uri(options.Target);
        _admin = new Uri(options.AdminUrl ?? _target.GetLeftPart(UriPartial.Authority));
        _requests = options.Probe.Requests.Count > 0
            ? options.Probe.Requests.Select(r => Encoding.UTF8.GetBytes(r)).ToArray()
            : options.Probe.Methods.Select((m, i) => Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":{{i + 1}},"method":"{{m}}","params":[]}""")).ToArray();
    }

    public async Task<ExperimentReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = _time.GetUtcNow();
        var phases = _options.Phases;
        var before = await InjectionsAsync(cancellationToken).ConfigureAwait(false);
        await AdminAsync(HttpMethod.Get, "/admin/chaos", null, cancellationToken).ConfigureAwait(false);

        _start = _time.GetTimestamp();
        using var stopProbes = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workers = Enumerable.Range(0, _options.Probe.Concurrency).Select(i => Task.Run(() => ProbeLoopAsync(i, stopProbes.Token), CancellationToken.None)).ToArray();
        var reasons = new List<string>();
        var bounds = new Dictionary<string, (TimeSpan From, TimeSpan To)>();
        bool aborted = false;
        string? abortReason = null;
        double? abortedAfter = null;
        TimeSpan injectionEnd;
        try
        {
            Log($"baseline: {DurationParser.Format(phases.Baseline)}");
            await Task.Delay(phases.Baseline, _time, cancellationToken).ConfigureAwait(false);
            var baselineEnd = Elapsed();
            bounds["baseline"] = (TimeSpan.Zero, baselineEnd);
            var baseline = PhaseReport.From("baseline", baselineEnd, Samples("baseline"), _options.Hypothesis);
            if (baseline.Probes == 0 || !baseline.HypothesisMet)
            {
                injectionEnd = baselineEnd;
                if (baseline.Probes > 0)
                {
                    aborted = true;
                    abortReason = "steady state not met during the baseline: no fault injected";
                    abortedAfter = 0;
                }
            }
            else
            {
                Log($"chaos: arming {_options.Faults.Count} fault(s) for {DurationParser.Format(phases.Chaos)}");
                var chaosStart = Elapsed();
                var chaosEnd = chaosStart;
                var disarmed = false;
                try
                {
                    await AdminAsync(HttpMethod.Post, "/admin/chaos/arm", null, cancellationToken).ConfigureAwait(false);
                    foreach (var fault in _options.Faults)
                    {
                        await AdminAsync(HttpMethod.Post, "/admin/chaos/rules", RuleJson(ExperimentLoader.Confine(fault, _options.BlastRadius), phases.Chaos + TimeSpan.FromSeconds(30)), cancellationToken).ConfigureAwait(false);
                    }

                    // The chaos phase is the time the faults are live: probes from here on count as chaos.
                    chaosStart = Elapsed();
                    _phase = "chaos";

                    var chaosDeadline = chaosStart + phases.Chaos;
                    while (Elapsed() < chaosDeadline)
                    {
                        await Task.Delay(MonitorInterval, _time, cancellationToken).ConfigureAwait(false);
                        if (AbortBreach(chaosStart) is { } breach)
                        {
                            // Stop every injection at once, then tidy up.
                            chaosEnd = Elapsed();
                            _phase = Disarming;
                            await AdminAsync(HttpMethod.Post, "/admin/chaos/halt", null, cancellationToken).ConfigureAwait(false);
                            aborted = true;
                            abortReason = breach;
                            abortedAfter = Math.Round((Elapsed() - chaosStart).TotalSeconds, 3);
                            Log($"abort: {breach}");
                            break;
                        }
                    }

                    // Probes that start while the faults are being taken away belong to no phase: the
                    // rules may already be gone, so counting them as chaos would credit the faulted
                    // upstream with answers it gave after the faults ended.
                    if (_phase != Disarming)
                    {
                        chaosEnd = Elapsed();
                        _phase = Disarming;
                    }

                    await DisarmAsync(cancellationToken).ConfigureAwait(false);
                    disarmed = true;
                }
                finally
                {
                    if (!disarmed && _phase != Disarming)
                    {
                        chaosEnd = Elapsed();
                        _phase = Disarming;
                    }

                    if (!disarmed)
                    {
                        // Failed or cancelled mid-chaos: never leave the proxy armed.
                        await EmergencyStopAsync().ConfigureAwait(false);
                    }
                }

                injectionEnd = Elapsed();
                bounds["chaos"] = (chaosStart, chaosEnd);
                _phase = "recovery";
                Log($"recovery: {DurationParser.Format(phases.Recovery)}");
                await Task.Delay(phases.Recovery, _time, cancellationToken).ConfigureAwait(false);
                bounds["recovery"] = (injectionEnd, Elapsed());
            }
        }
        finally
        {
            await stopProbes.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        var after = await InjectionsAsync(cancellationToken).ConfigureAwait(false);
        var names = _options.Faults.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var injections = after.Where(kv => names.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
        foreach (var name in names)
        {
            injections.TryAdd(name, 0);
        }

        var reports = bounds.Select(b => PhaseReport.From(b.Key, b.Value.To - b.Value.From, Samples(b.Key), _options.Hypothesis)).ToList();
        var ttr = bounds.ContainsKey("recovery") ? TimeToRecover(Samples("recovery"), injectionEnd) : null;
        var verdict = Judge(reports, injections.Values.Sum(), aborted, abortReason, ttr, reasons);
        return new ExperimentReport
        {
            Verdict = verdict,
            Name = _options.Name,
            Target = _target.GetLeftPart(UriPartial.Path),
            Reasons = reasons,
            Phases = reports,
            InjectionsByRule = injections,
            Aborted = aborted,
            AbortReason = abortReason,
            AbortedAfterSeconds = abortedAfter,
            TimeToRecoverSeconds = ttr,
            StartedAt = startedAt,
        };
    }

    private string Judge(List<PhaseReport> phases, double injections, bool aborted, string? abortReason, double? ttr, List<string> reasons)
    {
        var baseline = phases.First(p => p.Phase == "baseline");
        if (baseline.Probes == 0)
        {
            reasons.Add("no baseline: no probe completed during the baseline phase");
            return "inconclusive";
        }

        if (aborted)
        {
            reasons.Add($"aborted: {abortReason}");
            return "fail";
        }

        if (injections <= 0)
        {
            reasons.Add("no fault was injected during the chaos phase (rate 0, or rules that match nothing)");
            return "inconclusive";
        }

        var verdict = "pass";
        foreach (var phase in phases.Where(p => p.Phase != "baseline" && p.Probes > 0 && !p.HypothesisMet))
        {
            reasons.Add($"hypothesis broken during {phase.Phase}: success {phase.SuccessRate * 100:0.###}% (need {_options.Hypothesis.SuccessRate * 100:0.###}%), p99 {phase.P99Ms?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-"} ms");
            verdict = "fail";
        }

        if (verdict == "pass")
        {
            reasons.Add($"hypothesis held through baseline, chaos and recovery with {injections:0} injection(s)");
            if (ttr is null && phases.Any(p => p.Phase == "recovery" && p.Probes > 0))
            {
                reasons.Add("but the hypothesis did not settle within the recovery phase");
                verdict = "fail";
            }
        }

        return verdict;
    }

    /// <summary>Seconds from the end of injection until every later 250 ms bucket met the hypothesis.</summary>
    internal double? TimeToRecover(IReadOnlyList<ProbeSample> recovery, TimeSpan injectionEnd)
    {
        if (recovery.Count == 0)
        {
            return null;
        }

        var bucket = TimeSpan.FromMilliseconds(250);
        var buckets = recovery.GroupBy(s => (int)((s.At - injectionEnd) / bucket)).OrderBy(g => g.Key).ToArray();
        int? recoveredFrom = null;
        foreach (var group in buckets)
        {
            var ok = group.Count(s => s.Ok);
            var latencies = group.Where(s => s.Ok).Select(s => s.LatencyMs).Order().ToArray();
            var met = PhaseReport.Meets(group.Count(), (double)ok / group.Count(), PhaseReport.Quantile(latencies, 0.99), _options.Hypothesis);
            recoveredFrom = met ? recoveredFrom ?? group.Key : null;
        }

        return recoveredFrom is { } k ? Math.Round(Math.Max(0, k * bucket.TotalSeconds), 3) : null;
    }

    private string? AbortBreach(TimeSpan chaosStart)
    {
        if (_options.Abort is not { } abort)
        {
            return null;
        }

        var from = Elapsed() - abort.Window;
        ProbeSample[] window;
        lock (_lock)
        {
            window = _samples.Where(s => s.Phase == "chaos" && s.At >= from && s.At >= chaosStart).ToArray();
        }

        if (window.Length < abort.MinSamples || window.Length == 0)
        {
            return null;
        }

        var rate = (double)window.Count(s => s.Ok) / window.Length;
        if (abort.SuccessRate is { } minRate && rate < minRate)
        {
            return string.Create(CultureInfo.InvariantCulture, $"success rate {rate * 100:0.##}% < {minRate * 100:0.##}% over the last {window.Length} probes");
        }

        var p99 = PhaseReport.Quantile(window.Where(s => s.Ok).Select(s => s.LatencyMs).Order().ToArray(), 0.99);
        if (abort.P99 is { } maxP99 && p99 is { } p && p > maxP99.TotalMilliseconds)
        {
            return string.Create(CultureInfo.InvariantCulture, $"p99 {p:0.0} ms > {maxP99.TotalMilliseconds:0.0} ms over the last {window.Length} probes");
        }

        return null;
    }

    private async Task DisarmAsync(CancellationToken cancellationToken)
    {
        foreach (var fault in _options.Faults)
        {
            await AdminAsync(HttpMethod.Delete, $"/admin/chaos/rules/{Uri.EscapeDataString(fault.Name)}", null, cancellationToken, allowNotFound: true).ConfigureAwait(false);
        }

        // Back to what the proxy's own config says (a halt is lifted; runtime arming is dropped).
        await AdminAsync(HttpMethod.Post, "/admin/chaos/disarm", null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Best effort after a failure or Ctrl+C: halt (stops everything at once), then remove our rules.</summary>
    private async Task EmergencyStopAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await AdminAsync(HttpMethod.Post, "/admin/chaos/halt", null, deadline.Token).ConfigureAwait(false);
            await DisarmAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or OperationCanceledException)
        {
            Log($"could not disarm the proxy ({ex.Message}); runtime rules expire on their own");
        }
    }

    private async Task ProbeLoopAsync(int worker, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(_options.Probe.Concurrency / _options.Probe.Rate);
        var next = Elapsed() + (interval * worker / _options.Probe.Concurrency);
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = next - Elapsed();
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            next = Max(next + interval, Elapsed());
            var phase = _phase;
            var sample = await ProbeAsync(phase, cancellationToken).ConfigureAwait(false);
            if (sample is { } s)
            {
                // A probe still in flight when its phase ended straddled the change (faults armed or
                // taken away under it): it speaks for neither side, so it counts in no phase.
                if (phase != _phase)
                {
                    s = s with { Phase = Disarming };
                }

                lock (_lock)
                {
                    _samples.Add(s);
                }
            }
        }
    }

    private async Task<ProbeSample?> ProbeAsync(string phase, CancellationToken cancellationToken)
    {
        var body = _requests[(int)((uint)Interlocked.Increment(ref _next) % _requests.Length)];
        var started = Elapsed();
        var t0 = _time.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Probe.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _target) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (_options.AuthToken is { Length: > 0 } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            var latency = _time.GetElapsedTime(t0).TotalMilliseconds;
            var upstream = response.Headers.TryGetValues("X-RpcShield-Upstream", out var values) ? values.FirstOrDefault() : null;
            var error = Classify(response, bytes);
            return new ProbeSample(phase, started, error is null, latency, upstream, error);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            return new ProbeSample(phase, started, false, _time.GetElapsedTime(t0).TotalMilliseconds, null, "timeout");
        }
        catch (HttpRequestException ex)
        {
            return new ProbeSample(phase, started, false, _time.GetElapsedTime(t0).TotalMilliseconds, null, $"transport: {ex.HttpRequestError}");
        }
    }

    private static string? Classify(HttpResponseMessage response, byte[] body)
    {
        if (!response.IsSuccessStatusCode)
        {
            return $"http_{(int)response.StatusCode}";
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (json.RootElement.TryGetProperty("error", out var error))
                {
                    return error.TryGetProperty("code", out var code) ? $"jsonrpc {code.GetRawText()}" : "jsonrpc error";
                }

                if (json.RootElement.TryGetProperty("result", out _))
                {
                    return null;
                }
            }
        }
        catch (JsonException)
        {
        }

        return "invalid_response";
    }

    private async Task<Dictionary<string, double>> InjectionsAsync(CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_admin, "/metrics"));
            if (_options.AuthToken is { Length: > 0 } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            foreach (var line in text.Split('\n'))
            {
                if (!line.StartsWith("rpcshield_chaos_injections_total{", StringComparison.Ordinal))
                {
                    continue;
                }

                var ruleAt = line.IndexOf("rule=\"", StringComparison.Ordinal);
                var close = line.LastIndexOf('}');
                if (ruleAt < 0 || close < 0)
                {
                    continue;
                }

                var rule = line[(ruleAt + 6)..line.IndexOf('"', ruleAt + 6)];
                if (double.TryParse(line[(close + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    result[rule] = result.GetValueOrDefault(rule) + value;
                }
            }
        }
        catch (HttpRequestException ex)
        {
            Log($"metrics unavailable: {ex.Message}");
        }

        return result;
    }

    private async Task AdminAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken, bool allowNotFound = false)
    {
        using var request = new HttpRequestMessage(method, new Uri(_admin, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.AdminToken ?? "");
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && !(allowNotFound && response.StatusCode == System.Net.HttpStatusCode.NotFound))
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"admin {method} {path} failed: HTTP {(int)response.StatusCode} {text}");
        }
    }

    private static string RuleJson(ChaosRuleOptions rule, TimeSpan ttl)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("name", rule.Name);
            w.WriteString("scope", rule.Scope);
            w.WriteString("fault", rule.Fault);
            Array(w, "chains", rule.Chains);
            Array(w, "targets", rule.Targets);
            Array(w, "methods", rule.Methods);
            w.WriteNumber("rate", rule.Rate);
            if (rule.Latency is not null)
            {
                w.WriteString("latency", rule.Latency);
            }

            if (rule.ErrorCode is { } code)
            {
                w.WriteNumber("error_code", code);
            }

            if (rule.ErrorMessage is not null)
            {
                w.WriteString("error_message", rule.ErrorMessage);
            }

            w.WriteNumber("stale_blocks", rule.StaleBlocks);
            if (rule.RetryAfter is { } retryAfter)
            {
                w.WriteString("retry_after", DurationParser.Format(retryAfter));
            }

            w.WriteBoolean("allow_sends", rule.AllowSends);
            w.WriteString("ttl", DurationParser.Format(ttl));
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());

        static void Array(Utf8JsonWriter w, string name, List<string> values)
        {
            w.WriteStartArray(name);
            foreach (var value in values)
            {
                w.WriteStringValue(value);
            }

            w.WriteEndArray();
        }
    }

    private List<ProbeSample> Samples(string phase)
    {
        lock (_lock)
        {
            return _samples.Where(s => s.Phase == phase).ToList();
        }
    }

    private TimeSpan Elapsed() => _time.GetElapsedTime(_start);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private void Log(string message) => _log.WriteLine($"[{Elapsed().TotalSeconds,7:0.000}s] {message}");

    public void Dispose() => _http.Dispose();
}
