using RpcShield.Features.Broadcast;
using System.Collections.Concurrent;
using System.Globalization;
using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// `eth_blockNumber` never goes backwards for a client: it is routed to upstreams at the best head
/// first (<see cref="HeadPreference"/>), and an answer below the highest block number this chain has
/// already answered is replaced by that number (same id, same serving upstream header).
/// A filter on the forwarded answer rather than a handler wrapping the forwarder: no extra async
/// layer per eth_blockNumber, the most frequent call of a bot.
/// </summary>
internal sealed class MonotonicHeadFilter : IRpcResultFilter
{
    private readonly ConcurrentDictionary<string, HighWater> _served = new(StringComparer.Ordinal);

    public bool Applies(string method) => method == "eth_blockNumber";

    /// <summary>Highest block number answered on <paramref name="chain"/> (-1 before any).</summary>
    public long HighestServed(string chain) => _served.TryGetValue(chain, out var mark) ? mark.Value : -1;

    public ForwardResult Apply(RpcCall call, ReadOnlyMemory<byte> id, ForwardResult result)
    {
        if (result is not { Body: { } body, Outcome: "ok", ServedBy: { } upstream } || !HexQuantity.TryReadResult(body.Span, out var answered))
        {
            return result;
        }

        var mark = _served.GetOrAdd(call.Chain.Name, static _ => new HighWater());
        var highest = mark.Raise(answered);
        if (highest <= answered)
        {
            return result;
        }

        var replacement = ForwardResult.Served(
            LocalResult.StringResult(id, "0x" + highest.ToString("x", CultureInfo.InvariantCulture)), upstream, nodeError: false, result.Attempts);
        result.Dispose();
        return replacement;
    }

    private sealed class HighWater
    {
        private long _value = -1;

        public long Value => Interlocked.Read(ref _value);

        /// <summary>Raises the mark to <paramref name="candidate"/> if higher; returns the mark.</summary>
        public long Raise(long candidate)
        {
            var current = Interlocked.Read(ref _value);
            while (candidate > current)
            {
                var seen = Interlocked.CompareExchange(ref _value, candidate, current);
                if (seen == current)
                {
                    return candidate;
                }

                current = seen;
            }

            return current;
        }
    }
}
