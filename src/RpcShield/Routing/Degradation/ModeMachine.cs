namespace RpcShield.Routing.Degradation;

/// <summary>
/// Hysteresis of one chain's mode. Getting worse happens at once (a bot must not act on a view it
/// cannot trust). Getting better needs both `min_time_in_mode` in the current mode and the better
/// target to hold, uninterrupted, for `min_time_in_mode` (sustained health); then it moves straight
/// to the target.
/// </summary>
internal sealed class ModeMachine
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private DateTimeOffset? _betterSince;

    public ModeMachine(TimeProvider time)
    {
        _time = time;
        Since = time.GetUtcNow();
        Cause = "start";
    }

    public ChainMode Mode { get; private set; } = ChainMode.Full;

    public DateTimeOffset Since { get; private set; }

    public string Cause { get; private set; }

    /// <summary>Feeds one evaluation; returns the transition when the mode changed.</summary>
    public ModeTransition? Observe(ChainMode target, string cause, TimeSpan minTimeInMode)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (target == Mode)
            {
                _betterSince = null;
                return null;
            }

            if (target < Mode)
            {
                _betterSince ??= now;
                if (now - Since < minTimeInMode || now - _betterSince.Value < minTimeInMode)
                {
                    return null;
                }

                cause = $"recovered: {cause}";
            }

            var transition = new ModeTransition(Mode, target, cause, now);
            Mode = target;
            Since = now;
            Cause = cause;
            _betterSince = null;
            return transition;
        }
    }
}
