using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// Reads for synthesised subscriptions through the read path bots use (<see cref="ReadForwarder"/>:
/// ranking, best-head preference, failover, hedging, breakers and rate budgets apply). A read about a
/// block only one node may know yet (by hash) is asked of that node first.
/// </summary>
internal sealed class RoutedBlockReader : IBlockReader
{
    private static readonly byte[] Id = "1"u8.ToArray();

    private readonly ChainRegistry _chains;
    private readonly ReadForwarder _reads;
    private readonly UpstreamSender _sender;

    public RoutedBlockReader(ChainRegistry chains, ReadForwarder reads, UpstreamSender sender)
    {
        _chains = chains;
        _reads = reads;
        _sender = sender;
    }

    public async ValueTask<PolledBlock?> LatestAsync(string chain, CancellationToken cancellationToken)
    {
        var (result, servedBy) = await CallAsync(chain, "eth_getBlockByNumber", """["latest",false]""", null, cancellationToken).ConfigureAwait(false);
        return PolledBlock.From(result, servedBy);
    }

    public async ValueTask<PolledBlock?> ByHashAsync(string chain, string hash, Upstream? prefer, CancellationToken cancellationToken)
    {
        var (result, servedBy) = await CallAsync(chain, "eth_getBlockByHash", $"[{JsonSerializer.Serialize(hash)},false]", prefer, cancellationToken).ConfigureAwait(false);
        return PolledBlock.From(result, servedBy);
    }

    /// <summary>
    /// One call: first to <paramref name="prefer"/> when given, then routed. Returns the result
    /// (null for an error, a null result or no answer) and who served it.
    /// </summary>
    public async ValueTask<(JsonNode? Result, Upstream? ServedBy)> CallAsync(string chain, string method, string paramsJson, Upstream? prefer, CancellationToken cancellationToken)
    {
        if (!_chains.TryGet(chain, out var runtime))
        {
            return (null, null);
        }

        var raw = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{paramsJson}}}""");
        if (prefer is not null)
        {
            using var outcome = await _sender.SendAsync(prefer, raw, method, runtime.Options.Routing.Timeouts.PerAttempt, call: null, cancellationToken).ConfigureAwait(false);
            if (outcome.Kind == AttemptKind.Answered && outcome.Body is { } preferred && ResultOf(preferred.Memory.Span) is { } answer)
            {
                return (answer, prefer);
            }
        }

        var item = new RpcRequestItem(raw, Id, method, Encoding.UTF8.GetBytes(paramsJson));
        using var forwarded = await _reads.ForwardAsync(runtime, item, cancellationToken).ConfigureAwait(false);
        return forwarded.Body is { } body ? (ResultOf(body.Memory.Span), forwarded.ServedBy) : (null, null);
    }

    private static JsonNode? ResultOf(ReadOnlySpan<byte> reply)
    {
        try
        {
            return JsonNode.Parse(reply) is JsonObject root && !root.ContainsKey("error") ? root["result"] : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
