namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>What the npm `ws` client script printed (collected from its output thread).</summary>
internal sealed class NodeWsLines
{
    private readonly List<string> _lines = [];

    public void Add(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    public string[] Snapshot()
    {
        lock (_lines)
        {
            return [.. _lines];
        }
    }

    public int HeadCount => Snapshot().Count(l => l.StartsWith("HEAD ", StringComparison.Ordinal));

    /// <summary>
    /// The head numbers received, after checking the run: one subscription id (RpcShield's `0x…`),
    /// every head under it, no error output.
    /// </summary>
    public List<long> AssertHeads()
    {
        var all = Snapshot();
        var subscription = Assert.Single(all, l => l.StartsWith("SUB ", StringComparison.Ordinal))[4..];
        Assert.StartsWith("0x", subscription, StringComparison.Ordinal);
        var heads = all.Where(l => l.StartsWith("HEAD ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        Assert.All(heads, h => Assert.Equal(subscription, h[1]));
        Assert.DoesNotContain(all, l => l.StartsWith("ERROR", StringComparison.Ordinal) || l.StartsWith("STDERR", StringComparison.Ordinal));
        return heads.Select(h => long.Parse(h[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    public override string ToString() => string.Join(" | ", Snapshot());
}
