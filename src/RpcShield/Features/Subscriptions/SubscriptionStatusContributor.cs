using System.Text.Json;
using RpcShield.Chains;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>Adds `subscriptions: {active, feeds: [{kind, upstream, clients, source}]}` to each chain in `/status`.</summary>
internal sealed class SubscriptionStatusContributor : IStatusContributor
{
    private readonly SubscriptionHub _hub;

    public SubscriptionStatusContributor(SubscriptionHub hub) => _hub = hub;

    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream)
    {
    }

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
        var feeds = _hub.Feeds(chain.Name);
        writer.WriteStartObject("subscriptions"u8);
        writer.WriteNumber("active"u8, feeds.Sum(f => f.Clients));
        writer.WriteStartArray("feeds"u8);
        foreach (var (kind, upstream, clients, source) in feeds)
        {
            writer.WriteStartObject();
            writer.WriteString("kind"u8, kind);
            writer.WriteString("upstream"u8, upstream);
            writer.WriteNumber("clients"u8, clients);
            writer.WriteString("source"u8, source);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
