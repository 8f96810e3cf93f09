using Microsoft.Extensions.Logging;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

/// <summary>
/// Whether the journal can be written right now. A full or failing disk takes it down without
/// touching the RPC path: entries are dropped and counted (`rpcshield_journal_dropped_total`),
/// the writer retries every <see cref="RetryInterval"/>, `/status` and `/readyz` say so, and the
/// log gets one line per change of state (rate-limited, category `journal`), not one per row.
/// </summary>
internal sealed partial class JournalAvailability
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly LogLimiter _limiter;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private string? _downReason;
    private long _lastAttempt;
    private long _dropped;

    public JournalAvailability(string path, TimeProvider time, LogLimiter limiter, ILogger logger)
    {
        _path = path;
        _time = time;
        _limiter = limiter;
        _logger = logger;
    }

    /// <summary>Null while the journal is being written; otherwise why it is not.</summary>
    public string? DownReason => Volatile.Read(ref _downReason);

    public bool IsUp => DownReason is null;

    /// <summary>True when the journal is up, or down and due for another try (at most once per <see cref="RetryInterval"/>).</summary>
    public bool RetryDue
    {
        get
        {
            lock (_lock)
            {
                if (_downReason is null)
                {
                    return true;
                }

                if (_time.GetElapsedTime(_lastAttempt) < RetryInterval)
                {
                    return false;
                }

                _lastAttempt = _time.GetTimestamp();
                return true;
            }
        }
    }

    public void Down(string reason)
    {
        lock (_lock)
        {
            var wasUp = _downReason is null;
            _lastAttempt = _time.GetTimestamp();
            if (reason == _downReason)
            {
                return;
            }

            Volatile.Write(ref _downReason, reason);
            if (_limiter.TryAcquire(LogCategories.Journal, out var suppressed))
            {
                LogDown(_path, reason, wasUp ? "down" : "still down", suppressed);
            }
        }
    }

    /// <summary>Counts entries lost while the journal is down (for the resume line).</summary>
    public void Dropped(int count) => Interlocked.Add(ref _dropped, count);

    public void Up()
    {
        if (Volatile.Read(ref _downReason) is null)
        {
            return;
        }

        lock (_lock)
        {
            if (_downReason is null)
            {
                return;
            }

            Volatile.Write(ref _downReason, null);
            var dropped = Interlocked.Exchange(ref _dropped, 0);
            if (_limiter.TryAcquire(LogCategories.Journal, out var suppressed))
            {
                LogResumed(_path, dropped, suppressed);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Journal {Path} is {State}: {Reason}; RPC keeps serving, journal entries are dropped and counted until it can be written again ({Suppressed} similar lines suppressed before this one)")]
    private partial void LogDown(string path, string reason, string state, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Journal {Path} is being written again ({Dropped} entries were dropped while it was down; {Suppressed} similar lines suppressed before this one)")]
    private partial void LogResumed(string path, long dropped, long suppressed);
}
