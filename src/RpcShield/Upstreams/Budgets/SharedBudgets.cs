using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.Features.Fanout;
using RpcShield.Telemetry;
using StackExchange.Redis;

namespace RpcShield.Upstreams.Budgets;

/// <summary>
/// `max_rps` budgets shared through Redis by every instance of a fleet (`share_budget: true`). One
/// Lua script runs GCRA (the generic cell rate algorithm) on Redis' own clock, so a grant is atomic
/// and the instances' clocks do not matter; the burst is max(1, max_rps), as for a local budget.
/// No request waits for Redis: each instance takes request slots from a small local stock (about
/// 50 ms worth of the budget) that is refilled from Redis asynchronously whenever it runs low; an
/// empty stock refuses like an exhausted local budget. With Redis unreachable (not connected, a
/// refill failing or timing out) the target keeps to its local share, `max_rps / redis.expected_instances`,
/// logs once per outage and counts it (`rpcshield_budget_fallbacks_total{chain,target}`); it goes back
/// to the shared budget by itself as soon as a refill succeeds again.
/// </summary>
internal sealed partial class SharedBudgets : IDisposable
{
    public const string UpstreamKind = "upstream";
    public const string BuilderKind = "builder";

    /// <summary>How much of the budget one refill asks for (then the stock is refilled as it is used).</summary>
    public static readonly TimeSpan StockSpan = TimeSpan.FromMilliseconds(50);

    // KEYS[1] = budget key; ARGV = emission interval (µs), burst tolerance (µs), slots wanted. Returns the slots granted.
    private const string GcraScript = """
        local interval = tonumber(ARGV[1])
        local tolerance = tonumber(ARGV[2])
        local want = tonumber(ARGV[3])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tat < now then tat = now end
        local granted = 0
        while granted < want and tat - now <= tolerance do
          tat = tat + interval
          granted = granted + 1
        end
        if granted > 0 then
          redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
        end
        return granted
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

    /// <summary>Takes one request slot of a shared budget; false when over it. Never waits.</summary>
    public bool TryTake(string kind, string chain, string name, double maxRps)
    {
        var target = TargetOf(kind, chain, name, maxRps);
        if (_connecting is not { IsCompletedSuccessfully: true } || _connecting.Result is not { IsConnected: true } redis)
        {
            // Until the first connection attempt has finished (milliseconds on a reachable Redis) this is no fallback yet.
            if (_connecting is { IsCompleted: true })
            {
                FellBack(target, "not connected");
            }

            return target.LocalShare.TryTake();
        }

        var taken = target.TryTakeStock();
        if (Volatile.Read(ref target.Stock) < target.Want && Interlocked.CompareExchange(ref target.Refilling, 1, 0) == 0)
        {
            _ = RefillAsync(target, redis.GetDatabase());
        }

        if (taken)
        {
            return true;
        }

        // Before the first grant, and while refills fail, the local share decides.
        return Volatile.Read(ref target.Primed) == 0 || Volatile.Read(ref target.FallenBack) == 1
            ? target.LocalShare.TryTake()
            : false;
    }

    private async Task RefillAsync(Target target, IDatabase redis)
    {
        try
        {
            var granted = (int)(long)await redis.ScriptEvaluateAsync(GcraScript, target.Keys, target.Arguments).ConfigureAwait(false);
            Interlocked.Add(ref target.Stock, granted);
            Volatile.Write(ref target.Primed, 1);
            Recovered(target);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FellBack(target, ex is TimeoutException ? "timed out" : "command failed");
        }
        finally
        {
            Volatile.Write(ref target.Refilling, 0);
        }
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
        if (Volatile.Read(ref target.FallenBack) == 0 && Interlocked.Exchange(ref target.FallenBack, 1) == 0)
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
            Want = (int)Math.Max(1, Math.Ceiling(maxRps * StockSpan.TotalSeconds));
            Keys = [(RedisKey)$"rpcshield:budget:{kind}:{chain}:{name}"];
            var interval = 1_000_000 / maxRps;
            var tolerance = (Math.Max(1, maxRps) - 1) * interval;
            var invariant = System.Globalization.CultureInfo.InvariantCulture;
            Arguments = [interval.ToString("R", invariant), tolerance.ToString("R", invariant), Want];
        }

        public string Kind { get; }

        public string Chain { get; }

        public string Name { get; }

        public double MaxRps { get; }

        /// <summary>Slots one refill asks for; the stock is refilled whenever it holds fewer.</summary>
        public int Want { get; }

        public TokenBucket LocalShare { get; }

        public Prometheus.Counter.Child Fallbacks { get; }

        public RedisKey[] Keys { get; }

        public RedisValue[] Arguments { get; }

        // Request slots granted by Redis and not used yet.
        public int Stock;

        // 1 while a refill is in flight (one at a time).
        public int Refilling;

        // 1 once Redis has answered a refill.
        public int Primed;

        // 1 while deciding on the local share (logged and counted once per outage).
        public int FallenBack;

        public bool TryTakeStock()
        {
            while (true)
            {
                var stock = Volatile.Read(ref Stock);
                if (stock <= 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref Stock, stock - 1, stock) == stock)
                {
                    return true;
                }
            }
        }
    }
}
