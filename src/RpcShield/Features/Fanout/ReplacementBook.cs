namespace RpcShield.Features.Fanout;

/// <summary>
/// Which builders accepted a bundle sent with a `replacementUuid`, and in which cancel style
/// (`method` or `empty_bundle`) they were sent it, per (chain, uuid): a later cancel goes to exactly
/// those builders, each in its own style. Bounded: the oldest uuids are forgotten first (a cancel
/// for a forgotten uuid goes to every builder that takes it, as without a record).
/// </summary>
internal sealed class ReplacementBook
{
    /// <summary>Uuids remembered per process; far more than a bot keeps live at once.</summary>
    public const int Capacity = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Chain, string Uuid), Dictionary<string, string>> _accepted = [];
    private readonly Queue<(string Chain, string Uuid)> _order = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _accepted.Count;
            }
        }
    }

    /// <summary><paramref name="builder"/> accepted a bundle with <paramref name="uuid"/>; it cancels in <paramref name="cancelStyle"/>.</summary>
    public void Accepted(string chain, string uuid, string builder, string cancelStyle)
    {
        lock (_lock)
        {
            var key = (chain, uuid);
            if (!_accepted.TryGetValue(key, out var builders))
            {
                while (_accepted.Count >= Capacity && _order.TryDequeue(out var oldest))
                {
                    _accepted.Remove(oldest);
                }

                builders = new Dictionary<string, string>(StringComparer.Ordinal);
                _accepted[key] = builders;
                _order.Enqueue(key);
            }

            builders[builder] = cancelStyle;
        }
    }

    /// <summary>Builder name → cancel style of every builder that accepted a bundle with <paramref name="uuid"/>; null when none is recorded.</summary>
    public Dictionary<string, string>? Recipients(string chain, string uuid)
    {
        lock (_lock)
        {
            return _accepted.TryGetValue((chain, uuid), out var builders) ? new Dictionary<string, string>(builders, StringComparer.Ordinal) : null;
        }
    }
}
