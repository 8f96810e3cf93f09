using System.Text;
using System.Text.Json;

namespace RpcShield.Features.Subscriptions;

/// <summary>The identity fields of one log notification.</summary>
internal readonly record struct LogRef(long BlockNumber, string BlockHash, string LogIndex, string TxHash, string Content, bool Removed)
{
    /// <summary>Reads a log object (`eth_subscription` result or an `eth_getLogs` element).</summary>
    public static bool TryParse(JsonElement log, out LogRef value)
    {
        value = default;
        if (log.ValueKind != JsonValueKind.Object
            || !log.TryGetProperty("blockNumber", out var number) || !JsonRpc.HexQuantity.TryParse(number.GetString(), out var blockNumber))
        {
            return false;
        }

        var content = new StringBuilder();
        if (log.TryGetProperty("address", out var address))
        {
            content.Append(address.GetString()?.ToLowerInvariant());
        }

        if (log.TryGetProperty("topics", out var topics) && topics.ValueKind == JsonValueKind.Array)
        {
            foreach (var topic in topics.EnumerateArray())
            {
                content.Append('|').Append(topic.GetString());
            }
        }

        content.Append('|').Append(log.TryGetProperty("data", out var data) ? data.GetString() : "");
        value = new LogRef(
            blockNumber,
            log.TryGetProperty("blockHash", out var hash) ? hash.GetString() ?? "" : "",
            log.TryGetProperty("logIndex", out var index) ? index.GetString() ?? "" : "",
            log.TryGetProperty("transactionHash", out var tx) ? tx.GetString() ?? "" : "",
            content.ToString(),
            log.TryGetProperty("removed", out var removed) && removed.ValueKind == JsonValueKind.True);
        return true;
    }
}

/// <summary>
/// Remembers which logs a `logs` stream delivered, so a backfill or a new upstream never repeats
/// one. A log is known by `blockHash+logIndex` (same chain view) and by
/// `txHash+address+topics+data+ordinal` (the same transaction's log reported by another node,
/// possibly in a block with another hash or position). A suppressed log's position is remembered
/// too (as an alias of the delivered one), so seeing it again, say first in a backfill and then on
/// the new live stream, cannot count it as a second identical log of its transaction.
/// `removed: true` is passed on only for a log that was delivered; removing a delivered log or an
/// alias forgets the content, so a re-inclusion is delivered again. Memory is bounded by pruning
/// entries more than <see cref="RetainBlocks"/> blocks below the highest delivered block.
/// </summary>
internal sealed class LogDeduplicator
{
    public const long RetainBlocks = 1024;

    private readonly Dictionary<string, KnownPosition> _byPosition = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _byContent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Block, int Count)> _ordinals = new(StringComparer.Ordinal);

    /// <summary>Highest block a delivered log was in (-1 before the first).</summary>
    public long HighestBlock { get; private set; } = -1;

    public int Count => _byPosition.Count;

    public bool ShouldDeliver(in LogRef log)
    {
        var position = log.BlockHash + "/" + log.LogIndex;
        if (log.Removed)
        {
            if (!_byPosition.Remove(position, out var known))
            {
                return false;
            }

            _byContent.Remove(known.Content);
            return known.Delivered;
        }

        if (_byPosition.ContainsKey(position))
        {
            return false;
        }

        // The n-th identical log of a transaction within one block is its own log, not a repeat.
        var sameBlockKey = log.BlockHash + "/" + log.TxHash + "/" + log.Content;
        _ordinals.TryGetValue(sameBlockKey, out var ordinal);
        _ordinals[sameBlockKey] = (log.BlockNumber, ordinal.Count + 1);
        var content = log.TxHash + "/" + log.Content + "/" + ordinal.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var delivered = !_byContent.ContainsKey(content);
        _byPosition[position] = new KnownPosition(log.BlockNumber, content, delivered);
        if (!delivered)
        {
            return false;
        }

        _byContent[content] = log.BlockNumber;
        if (log.BlockNumber > HighestBlock)
        {
            HighestBlock = log.BlockNumber;
            Prune();
        }

        return true;
    }

    private void Prune()
    {
        var keepFrom = HighestBlock - RetainBlocks;
        if (keepFrom <= 0 || _byPosition.Count < 4096)
        {
            return;
        }

        foreach (var (key, value) in _byPosition)
        {
            if (value.Block < keepFrom)
            {
                _byPosition.Remove(key);
            }
        }

        foreach (var (key, block) in _byContent)
        {
            if (block < keepFrom)
            {
                _byContent.Remove(key);
            }
        }

        foreach (var (key, value) in _ordinals)
        {
            if (value.Block < keepFrom)
            {
                _ordinals.Remove(key);
            }
        }
    }

    /// <summary>A seen log position: its block, its content key and whether it was the one delivered.</summary>
    private readonly record struct KnownPosition(long Block, string Content, bool Delivered);
}
