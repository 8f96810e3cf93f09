namespace RpcShield.Features.Subscriptions;

/// <summary>What to do with a head an upstream reported.</summary>
internal enum HeadDecision
{
    /// <summary>Already delivered (a duplicate, or a number the previous upstream already covered).</summary>
    Drop,
    /// <summary>Deliver now (the next head, or a reorg reported by the same upstream).</summary>
    Deliver,
    /// <summary>Heads are missing before this one: fetch <see cref="HeadSequencer.GapFrom"/>..<see cref="HeadSequencer.GapTo"/> first.</summary>
    FillGap,
}

/// <summary>
/// Keeps one `newHeads` stream gap-free and duplicate-free across upstream switches. Block numbers
/// are the identity across upstreams (independent nodes number alike but hash differently): after
/// a switch nothing at or below the last delivered number is delivered again. On the same upstream
/// a lower or equal number with another hash is a reorg and is delivered as the node reports it.
/// </summary>
internal sealed class HeadSequencer
{
    private long _last = -1;
    private string? _lastHash;
    private long _floor = -1;

    public long LastDelivered => _last;

    public long GapFrom { get; private set; }

    public long GapTo { get; private set; }

    /// <summary>The stream now comes from another upstream: everything delivered so far is final for it.</summary>
    public void SourceChanged() => _floor = _last;

    public HeadDecision Decide(long number, string? hash, int maxGap)
    {
        if (_last < 0)
        {
            return HeadDecision.Deliver;
        }

        if (number <= _floor || (number == _last && hash == _lastHash))
        {
            return HeadDecision.Drop;
        }

        if (number <= _last + 1)
        {
            return HeadDecision.Deliver;
        }

        var missing = number - _last - 1;
        if (missing > maxGap)
        {
            return HeadDecision.Deliver;
        }

        GapFrom = _last + 1;
        GapTo = number - 1;
        return HeadDecision.FillGap;
    }

    public void Delivered(long number, string? hash)
    {
        _last = number;
        _lastHash = hash;
    }
}
