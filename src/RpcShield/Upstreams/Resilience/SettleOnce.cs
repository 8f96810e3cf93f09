using System.Diagnostics;

namespace RpcShield.Upstreams.Resilience;

/// <summary>
/// The right to settle a begun operation, for the Begin/End halves that let a caller await in its
/// own state machine (<c>RpcProcessor.BeginSingle/EndSingle</c>, <c>RpcDispatcher.Begin/End</c>,
/// <c>UpstreamSender.Start/Settle</c>): settling takes it through a <c>ref</c>, so the variable that
/// settled holds a spent ticket and settling it again is a no-op (a failed assertion in Debug builds)
/// rather than a pooled context returned twice, a budget slot released twice or a request counted
/// twice. The one thing it cannot see is a copy taken before settling: the structs that carry it are
/// passed by <c>ref</c>, never copied.
/// </summary>
internal struct SettleOnce
{
    private bool _pending;

    /// <summary>A ticket for an operation that has begun and must be settled.</summary>
    public static SettleOnce Begun()
    {
        var ticket = default(SettleOnce);
        ticket._pending = true;
        return ticket;
    }

    /// <summary>True until settled.</summary>
    public readonly bool IsPending => _pending;

    /// <summary>True exactly once: the caller settles now. False after (and for a ticket never begun).</summary>
    public bool TryTake()
    {
        if (_pending)
        {
            _pending = false;
            return true;
        }

        Debug.Fail("Settled twice: a Begin/End or Start/Settle pair was ended more than once.");
        return false;
    }
}
