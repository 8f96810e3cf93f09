using System.Text;
using System.Text.Json.Nodes;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// The logs a polled `logs` feed delivered per block hash (the last <see cref="BlocksKept"/> blocks),
/// so that when a reorg replaces a block its logs can be sent again with `removed: true`, as a
/// WebSocket node does.
/// </summary>
internal sealed class RecentBlockLogs
{
    public const int BlocksKept = 256;

    private readonly Dictionary<string, List<byte[]>> _byBlock = new(StringComparer.OrdinalIgnoreCase);
    private readonly Queue<string> _order = new();

    public void Add(string blockHash, byte[] log)
    {
        if (!_byBlock.TryGetValue(blockHash, out var logs))
        {
            logs = [];
            _byBlock[blockHash] = logs;
            _order.Enqueue(blockHash);
            if (_order.Count > BlocksKept)
            {
                _byBlock.Remove(_order.Dequeue());
            }
        }

        logs.Add(log);
    }

    /// <summary>The delivered logs of a replaced block, marked `removed: true` (forgotten here).</summary>
    public IReadOnlyList<byte[]> TakeRemoved(string blockHash)
    {
        if (!_byBlock.Remove(blockHash, out var logs))
        {
            return [];
        }

        return logs.Select(l =>
        {
            var node = JsonNode.Parse(l)!.AsObject();
            node["removed"] = true;
            return Encoding.UTF8.GetBytes(node.ToJsonString());
        }).ToList();
    }
}
