using System.Collections.Concurrent;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.JsonRpc;
using RpcShield.Telemetry;

namespace RpcShield.Chaos;

/// <inheritdoc cref="IChaosController"/>
internal sealed partial class ChaosController : IChaosController
{
    private readonly ConfigStore _config;
    private readonly IChaosRandom _random;
    private readonly TimeProvider _time;
    private readonly RpcShieldMetrics _metrics;
    private readonly IFailureJournal _journal;
    private readonly ILogger<ChaosController> _logger;
    private readonly ConcurrentDictionary<string, ChaosRule> _runtime = new(StringComparer.Ordinal);
    private readonly Lock _addLock = new();
    private volatile StaticRules _static = new(null, []);
    private volatile bool _runtimeArmed;
    private volatile bool _halted;
    private CancellationTokenSource _halt = new();

    public ChaosController(ConfigStore config, IChaosRandom random, TimeProvider time, RpcShieldMetrics metrics, IFailureJournal journal, ILogger<ChaosController> logger)
    {
        _config = config;
        _random = random;
        _time = time;
        _metrics = metrics;
        _journal = journal;
        _logger = logger;
    }

    public bool IsArmed => !_halted && (_runtimeArmed || _config.Current.Chaos.Enabled);

    public bool IsHalted => _halted;

    public void Arm()
    {
        _runtimeArmed = true;
        _halted = false;
        LogState("armed");
    }

    public CancellationToken HaltToken => Volatile.Read(ref _halt).Token;

    public void Halt()
    {
        _halted = true;
        _runtimeArmed = false;
        var previous = Interlocked.Exchange(ref _halt, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
        LogState("halted");
    }

    public void Disarm()
    {
        _runtimeArmed = false;
        _halted = false;
        LogState("disarmed");
    }

    public void Resume()
    {
        _halted = false;
        LogState("resumed");
    }

    public IReadOnlyList<ChaosRule> Rules
    {
        get
        {
            Prune();
            return [.. StaticRuleList(), .. _runtime.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];
        }
    }

    public string? AddRuntimeRule(ChaosRule rule)
    {
        var caps = _config.Current.Chaos;
        lock (_addLock)
        {
            Prune();
            if (StaticRuleList().Any(r => r.Name == rule.Name))
            {
                return $"rule '{rule.Name}' is defined in proxy.yaml";
            }

            if (!_runtime.ContainsKey(rule.Name) && StaticRuleList().Length + _runtime.Count >= caps.MaxActiveRules)
            {
                return $"at most {caps.MaxActiveRules} active rules (chaos.max_active_rules)";
            }

            _runtime[rule.Name] = rule.Clamp(caps) with { Source = "runtime" };
        }

        return null;
    }

    public bool RemoveRuntimeRule(string name) => _runtime.TryRemove(name, out _);

    public ChaosRule? Match(ChaosScope scope, string chain, string? target, string method, Func<ChaosRule, bool> filter, ChaosRule? extra = null)
    {
        if (!IsArmed)
        {
            return null;
        }

        if (extra is not null && Candidate(extra, scope, chain, target, method, filter))
        {
            return extra;
        }

        foreach (var rule in StaticRuleList())
        {
            if (Candidate(rule, scope, chain, target, method, filter))
            {
                return rule;
            }
        }

        if (_runtime.IsEmpty)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        foreach (var rule in _runtime.Values)
        {
            if (rule.ExpiresAt is { } expires && expires <= now)
            {
                continue;
            }

            if (Candidate(rule, scope, chain, target, method, filter))
            {
                return rule;
            }
        }

        return null;
    }

    public void RecordInjection(ChaosRule rule, string chain, string method, string? target, RpcCall? call)
    {
        var fault = ChaosFaults.Name(rule.Fault);
        _metrics.ChaosInjections.WithLabels(chain, rule.Name, fault).Inc();
        _journal.Record(new JournalEntry
        {
            Kind = "chaos",
            Timestamp = _time.GetUtcNow(),
            Chain = chain,
            Method = method,
            Reason = fault,
            Upstream = rule.Scope == ChaosScope.Upstream ? target : null,
            Builder = rule.Scope == ChaosScope.Builder ? target : null,
            Note = $"rule={rule.Name} scope={ChaosFaults.ScopeName(rule.Scope)} source={rule.Source}",
        });
        call?.Annotate(ChaosHeader.Name, $"{rule.Name}={fault}");
        LogInjected(chain, rule.Name, fault, method, target ?? "-");
    }

    public bool ShouldDisconnect(ChaosScope scope, string chain, string? upstream, string method = "eth_subscription")
    {
        var rule = Match(scope, chain, upstream, method, static r => r.Fault == ChaosFault.WsDisconnect);
        if (rule is null)
        {
            return false;
        }

        RecordInjection(rule, chain, method, upstream, call: null);
        return true;
    }

    public double NextDouble() => _random.NextDouble();

    private bool Candidate(ChaosRule rule, ChaosScope scope, string chain, string? target, string method, Func<ChaosRule, bool> filter) =>
        rule.Scope == scope
        && rule.Rate > 0
        && rule.Matches(chain, target, method)
        && filter(rule)
        && (rule.Rate >= 1 || _random.NextDouble() < rule.Rate);

    private ChaosRule[] StaticRuleList()
    {
        var options = _config.Current.Chaos;
        var cached = _static;
        if (ReferenceEquals(cached.Options, options))
        {
            return cached.Rules;
        }

        var rules = new List<ChaosRule>(options.Rules.Count);
        foreach (var rule in options.Rules)
        {
            // Validated at load; a rule that still does not compile is skipped rather than crashing the hot path.
            if (ChaosRule.From(rule, "config", null, out _) is { } compiled)
            {
                rules.Add(compiled);
            }
        }

        var fresh = new StaticRules(options, rules.ToArray());
        _static = fresh;
        return fresh.Rules;
    }

    private void Prune()
    {
        var now = _time.GetUtcNow();
        foreach (var (name, rule) in _runtime)
        {
            if (rule.ExpiresAt is { } expires && expires <= now)
            {
                _runtime.TryRemove(name, out _);
            }
        }
    }

    private sealed record StaticRules(ChaosOptions? Options, ChaosRule[] Rules);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chaos {State}")]
    private partial void LogState(string state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Chaos injected on chain {Chain}: rule {Rule} fault {Fault} method {Method} target {Target}")]
    private partial void LogInjected(string chain, string rule, string fault, string method, string target);
}
