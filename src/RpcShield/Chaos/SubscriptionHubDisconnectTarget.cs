using RpcShield.Features.Subscriptions;

namespace RpcShield.Chaos;

/// <summary>`ws_disconnect` acts on the subscription hub's sockets (its chaos seam).</summary>
internal sealed class SubscriptionHubDisconnectTarget : IWsDisconnectTarget
{
    private readonly SubscriptionHub _hub;

    public SubscriptionHubDisconnectTarget(SubscriptionHub hub) => _hub = hub;

    public int DisconnectClients(string chain) => _hub.DisconnectClients(chain);

    public int DisconnectUpstreams(string chain, string? upstream) => _hub.DisconnectUpstreams(chain, upstream);
}
