using RpcShield.Configuration;

namespace RpcShield.Upstreams.Health;

internal enum HealthStatus
{
    /// <summary>Not yet verified (chain id unknown): never routed to.</summary>
    Probing,
    Healthy,
    /// <summary>Answers, but more than max_block_lag behind the best head.</summary>
    Lagging,
    Unhealthy,
    /// <summary>Answers with another chain id: never routed to.</summary>
    WrongChain,
}

/// <summary>
/// Health state machine of one upstream. Probes and real traffic both feed it: `fail_after`
/// consecutive failures make it unhealthy, a refused connection does so at once, and only
/// `recover_after` consecutive good probes (with the chain id re-checked) bring it back.
/// </summary>
internal sealed class UpstreamHealth
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private HealthOptions _options;
    private HealthStatus _status = HealthStatus.Probing;
    private int _consecutiveFailures;
    private int _consecutiveSuccesses;
    private long _head = -1;
    private long _chainBest = -1;
    private string? _headHash;
    private volatile bool _headTracked;
    private string? _lastError;
    private DateTimeOffset _since;

    public UpstreamHealth(HealthOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _since = time.GetUtcNow();
    }

    public HealthStatus Status => _status;

    public long Head => Volatile.Read(ref _head);

    /// <summary>Hash of <see cref="Head"/> when known (real-time head tracking; probes see numbers only).</summary>
    public string? HeadHash => Volatile.Read(ref _headHash);

    /// <summary>The chain's best head when the ranking was last published (-1 before any).</summary>
    public long ChainBestHead => Volatile.Read(ref _chainBest);

    /// <summary>True while a real-time source (newHeads or fast polling) reports this upstream's head: a probe then never lowers it.</summary>
    public bool HeadTracked
    {
        get => _headTracked;
        set => _headTracked = value;
    }

    /// <summary>
    /// True when a "header not found" from this upstream means only that it is behind: it has not
    /// reached <paramref name="requested"/> (when known, else the chain's best head).
    /// </summary>
    public bool IsBehind(long requested)
    {
        var head = Head;
        var target = requested >= 0 ? requested : ChainBestHead;
        return head >= 0 ? head < target : target >= 0;
    }

    /// <summary>A real-time head (newHeads or a head poll): taken as it is, also when lower (a reorg).</summary>
    public void HeadObserved(long number, string? hash)
    {
        lock (_lock)
        {
            _head = number;
            _headHash = hash;
        }
    }

    public string? LastError => _lastError;

    public DateTimeOffset Since => _since;

    public int ConsecutiveFailures => _consecutiveFailures;

    public void UpdateOptions(HealthOptions options) => _options = options;

    /// <summary>A probe answered with head <paramref name="head"/>. Returns true when the status changed.</summary>
    /// <param name="chainIdVerified">The probe also checked `eth_chainId` and it matched.</param>
    public bool ProbeSucceeded(long head, bool chainIdVerified)
    {
        lock (_lock)
        {
            // A probe answer may be older than the real-time head (sent before it arrived).
            var next = _headTracked && _head >= 0 ? Math.Max(_head, head) : Math.Max(head, 0);
            if (next != _head)
            {
                _headHash = null;
            }

            _head = next;
            _consecutiveFailures = 0;
            _consecutiveSuccesses++;
            return _status switch
            {
                HealthStatus.Probing when chainIdVerified => Set(HealthStatus.Healthy, null),
                HealthStatus.Unhealthy or HealthStatus.WrongChain when chainIdVerified && _consecutiveSuccesses >= _options.RecoverAfter => Set(HealthStatus.Healthy, null),
                _ => false,
            };
        }
    }

    /// <summary>True when the next probe must re-check the chain id before re-admission.</summary>
    public bool NeedsChainIdCheck
    {
        get
        {
            lock (_lock)
            {
                return _status is HealthStatus.Probing or HealthStatus.WrongChain
                    || (_status == HealthStatus.Unhealthy && _consecutiveSuccesses + 1 >= _options.RecoverAfter);
            }
        }
    }

    /// <summary>A probe or a request failed. <paramref name="hard"/> (connection refused) is decisive at once.</summary>
    public bool Failed(string reason, bool hard)
    {
        lock (_lock)
        {
            _consecutiveSuccesses = 0;
            _consecutiveFailures++;
            _lastError = reason;
            if (_status is HealthStatus.Healthy or HealthStatus.Lagging or HealthStatus.Probing
                && (hard || _consecutiveFailures >= _options.FailAfter))
            {
                return Set(HealthStatus.Unhealthy, reason);
            }

            return false;
        }
    }

    /// <summary>A real request succeeded: clears the failure streak (does not re-admit: probes do).</summary>
    public void RequestSucceeded()
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            lock (_lock)
            {
                _consecutiveFailures = 0;
            }
        }
    }

    public bool ChainIdMismatch(long actual, long expected)
    {
        lock (_lock)
        {
            _consecutiveSuccesses = 0;
            return Set(HealthStatus.WrongChain, $"chain id {actual} does not match configured {expected}");
        }
    }

    /// <summary>Applies lag exclusion against the best healthy head. Returns true when the status changed.</summary>
    public bool ApplyLag(long bestHead)
    {
        lock (_lock)
        {
            _chainBest = bestHead;
            var lag = bestHead - _head;
            if (_status == HealthStatus.Healthy && lag > _options.MaxBlockLag)
            {
                return Set(HealthStatus.Lagging, $"{lag} blocks behind");
            }

            if (_status == HealthStatus.Lagging && lag <= _options.MaxBlockLag)
            {
                return Set(HealthStatus.Healthy, null);
            }

            return false;
        }
    }

    private bool Set(HealthStatus status, string? reason)
    {
        if (_status == status)
        {
            return false;
        }

        _status = status;
        _since = _time.GetUtcNow();
        if (reason is not null)
        {
            _lastError = reason;
        }

        return true;
    }
}
