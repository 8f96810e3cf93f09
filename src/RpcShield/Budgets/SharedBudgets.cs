using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.Fanout;
using RpcShield.Telemetry;
using StackExchange.Redis;

namespace RpcShield.Budgets;

/// <summary>
/// `max_rps` budgets shared through Redis by every instance of a fleet (`share_budget: true`). One
/// Lua script runs GCRA (the generic cell rate algorithm) on Redis' own clock, so the decision is
/// atomic and the instances' clocks do not matter; the burst is max(1, max_rps), as for a local budget.
/// With Redis unreachable (not connected yet, connection lost, a command timing out) the target
/// keeps to its local share, `max_rps / redis.expected_instances`, logs once per outage and counts
/// it (`rpcshield_budget_fallbacks_total{chain,target}`); it goes back to the shared budget by itself
/// as soon as Redis answers again. Nothing here ever waits longer than <see cref="RedisEndpoint.CommandTimeout"/>.
/// </summary>
internal sealed partial class SharedBudgets : IDisposable
{
    public const string UpstreamKind = "upstream";
    public const string BuilderKind = "builder";

    // KEYS[1] = budget key; ARGV = emission interval (µs), burst tolerance (µs). Returns 1 when admitted.
    private const string GcraScript = """
        local interval = tonumber(ARGV[1])
        local tolerance = tonumber(ARGV[2])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tat < now then tat = now end
        if tat - now > tolerance then return 0 end
        local nxt = tat + interval
        redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
        return 1
        """;

    private readonly ConcurrentDictionary<(string Kind, string Chain, string Name), Target> _targets = new();
    private readonly Task<ConnectionMultiplexer>? _connecting;
    private readonly int _expectedInstances;
    private readonly RpcShieldMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<SharedBudgets> _logger;

    public SharedBudgets(ConfigStore config, RpcShieldMetrics metrics, TimeProvider time, ILogger<SharedBudgets> logger)
    {
        // The redis section is read at start (a reload changes budgets and share_budget flags, not the connection).
        var options = config.Current;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _expectedInstances = options.Redis?.ExpectedInstances ?? 1;
        if (options.Redis is { } redis && RedisEndpoint.TryParse(redis.Url, out var configuration, out _))
        {
            // Connects in the background: until it has, every shared target decides on its local share.
            _connecting = ConnectionMultiplexer.ConnectAsync(configuration!);
            _connecting.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>True when `redis` is configured (shared targets then use it).</summary>
    public bool Enabled => _connecting is not null;

    /// <summary>Takes one request slot of a shared budget; false when over it (never waits on an unreachable Redis).</summary>
    public bool TryTake(string kind, string chain, string name, double maxRps)
    {
        var target = TargetOf(kind, chain, name, maxRps);
        if (_connecting is { IsCompletedSuccessfully: true } && _connecting.Result is { IsConnected: true } redis)
        {
            try
            {
                var admitted = (long)redis.GetDatabase().ScriptEvaluate(GcraScript, target.Keys, target.Arguments) == 1;
                Recovered(target);
                return admitted;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                FellBack(target, ex is TimeoutException ? "timed out" : "command failed");
            }
        }
        else
        {
            FellBack(target, _connecting is { IsCompleted: false } ? "not connected yet" : "not connected");
        }

        return target.LocalShare.TryTake();
    }

    private Target TargetOf(string kind, string chain, string name, double maxRps)
    {
        if (_targets.TryGetValue((kind, chain, name), out var target) && target.MaxRps == maxRps)
        {
            return target;
        }

        // First use, or max_rps changed by a reload.
        target = new Target(kind, chain, name, maxRps, _expectedInstances, _time, _metrics.BudgetFallbacks.WithLabels(chain, name));
        _targets[(kind, chain, name)] = target;
        return target;
    }

    private void FellBack(Target target, string reason)
    {
        if (Interlocked.Exchange(ref target.FallenBack, 1) == 0)
        {
            target.Fallbacks.Inc();
            LogFallback(target.Chain, target.Kind, target.Name, reason, target.LocalShare.Rate);
        }
    }

    private void Recovered(Target target)
    {
        if (Volatile.Read(ref target.FallenBack) == 1 && Interlocked.Exchange(ref target.FallenBack, 0) == 1)
        {
            LogShared(target.Chain, target.Kind, target.Name);
        }
    }

    public void Dispose()
    {
        if (_connecting is { IsCompletedSuccessfully: true })
        {
            _connecting.Result.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: shared budget of {Kind} {Target} falls back to its local share ({LocalRps} rps): Redis {Reason}")]
    private partial void LogFallback(string chain, string kind, string target, string reason, double localRps);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: {Kind} {Target} uses its shared budget in Redis again")]
    private partial void LogShared(string chain, string kind, string target);

    private sealed class Target
    {
        public Target(string kind, string chain, string name, double maxRps, int expectedInstances, TimeProvider time, Prometheus.Counter.Child fallbacks)
        {
            Kind = kind;
            Chain = chain;
            Name = name;
            MaxRps = maxRps;
            Fallbacks = fallbacks;
            LocalShare = new TokenBucket(maxRps / expectedInstances, time);
            Keys = [(RedisKey)$"rpcshield:budget:{kind}:{chain}:{name}"];
            var interval = 1_000_000 / maxRps;
            var tolerance = (Math.Max(1, maxRps) - 1) * interval;
            Arguments = [interval.ToString("R", System.Globalization.CultureInfo.InvariantCulture), tolerance.ToString("R", System.Globalization.CultureInfo.InvariantCulture)];
        }

        public string Kind { get; }

        public string Chain { get; }

        public string Name { get; }

        public double MaxRps { get; }

        public TokenBucket LocalShare { get; }

        public Prometheus.Counter.Child Fallbacks { get; }

        public RedisKey[] Keys { get; }

        public RedisValue[] Arguments { get; }

        // 1 while deciding on the local share (logged and counted once per outage).
        public int FallenBack;
    }
}
