using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Upstreams.Health;
using RpcShield.JsonRpc;
using RpcShield.Journal;
using RpcShield.Hosting.Status;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Routing.Degradation;

/// <summary>
/// Per chain full / degraded / minimal controller. Every 100 ms it counts usable upstreams
/// (healthy, circuit not open) and the failure ratio of attempts on upstreams healthy for at least
/// the whole window (`routing.circuit_breaker.window`), and feeds
/// the target (<see cref="ModeTarget"/>) through the chain's <see cref="ModeMachine"/>. Every
/// transition is logged with its cause, counted, journaled (`mode_change`) and shown in /status;
/// the current mode is the `X-RpcShield-Mode` header and the `rpcshield_mode` gauge.
/// </summary>
internal sealed partial class DegradationController : BackgroundService, IChainModeSource, IStatusContributor
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    private readonly ChainRegistry _chains;
    private readonly TimeProvider _time;
    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly ILogger<DegradationController> _logger;
    private readonly ConcurrentDictionary<string, ModeMachine> _machines = new(StringComparer.Ordinal);

    public DegradationController(ChainRegistry chains, TimeProvider time, RpcShieldMetrics metrics, IFailureJournal journal, ILogger<DegradationController> logger)
    {
        _chains = chains;
        _time = time;
        _metrics = metrics;
        _journal = journal;
        _logger = logger;
        foreach (var chain in chains.Chains)
        {
            _metrics.Mode.WithLabels(chain.Name).Set(0);
        }
    }

    public string ModeOf(string chain) => Current(chain).Name();

    public ChainMode Current(string chain) => _machines.TryGetValue(chain, out var machine) ? machine.Mode : ChainMode.Full;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        EvaluateAll();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                EvaluateAll();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One evaluation of every chain (the timer's body; tests call it directly).</summary>
    public void EvaluateAll()
    {
        foreach (var chain in _chains.Chains)
        {
            try
            {
                Evaluate(chain);
            }
            catch (Exception ex)
            {
                LogEvaluationFailed(ex, chain.Name);
            }
        }
    }

    private void Evaluate(ChainRuntime chain)
    {
        var healthy = 0;
        long ok = 0, failed = 0;
        var window = chain.Options.Routing.CircuitBreaker.Window;
        var now = _time.GetUtcNow();
        foreach (var upstream in chain.Upstreams)
        {
            if (upstream.Health.Status != HealthStatus.Healthy)
            {
                continue;
            }

            // An upstream re-admitted within the window still carries the failures of its outage: skip its ratio.
            if (now - upstream.Health.Since >= window)
            {
                var (o, f) = upstream.Errors.Totals();
                ok += o;
                failed += f;
            }

            if (upstream.CircuitState != Upstreams.Breakers.BreakerState.Open)
            {
                healthy++;
            }
        }

        var options = chain.Options.Degradation;
        var (target, cause) = ModeTarget.Evaluate(options, chain.Upstreams.Count, healthy, ok, failed);
        var machine = _machines.GetOrAdd(chain.Name, _ => new ModeMachine(_time));
        if (machine.Observe(target, cause, options.MinTimeInMode) is not { } transition)
        {
            return;
        }

        var from = transition.From.Name();
        var to = transition.To.Name();
        if (transition.To > transition.From)
        {
            LogWorse(chain.Name, from, to, transition.Cause);
        }
        else
        {
            LogBetter(chain.Name, from, to, transition.Cause);
        }

        _metrics.ModeChanges.WithLabels(chain.Name, from, to).Inc();
        _metrics.Mode.WithLabels(chain.Name).Set((int)transition.To);
        _journal.Record(new JournalEntry
        {
            Kind = "mode_change",
            Timestamp = transition.At,
            Chain = chain.Name,
            HeadBlock = chain.BestHead >= 0 ? chain.BestHead : null,
            Reason = $"{from}->{to}: {transition.Cause}",
        });
    }

    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream)
    {
    }

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
        if (!_machines.TryGetValue(chain.Name, out var machine))
        {
            return;
        }

        writer.WriteStartObject("degradation");
        writer.WriteString("mode", machine.Mode.Name());
        writer.WriteString("since", machine.Since);
        writer.WriteString("cause", machine.Cause);
        writer.WriteEndObject();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: mode {From} -> {To} ({Cause})")]
    private partial void LogWorse(string chain, string from, string to, string cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: mode {From} -> {To} ({Cause})")]
    private partial void LogBetter(string chain, string from, string to, string cause);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chain {Chain}: mode evaluation failed")]
    private partial void LogEvaluationFailed(Exception ex, string chain);
}
