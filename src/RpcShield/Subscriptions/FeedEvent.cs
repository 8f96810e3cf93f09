namespace RpcShield.Subscriptions;

internal enum FeedEventKind
{
    /// <summary>The upstream confirmed `eth_subscribe`.</summary>
    Subscribed,
    /// <summary>An `eth_subscription` notification (Payload = raw `result` JSON).</summary>
    Notification,
    /// <summary>The upstream socket failed, closed or refused the subscription.</summary>
    Lost,
    /// <summary>Periodic check: stall window, upstream health.</summary>
    Tick,
}

internal sealed record FeedEvent(FeedEventKind Kind, UpstreamSubscription? Source = null, byte[]? Payload = null, string? Reason = null)
{
    public static readonly FeedEvent Tick = new(FeedEventKind.Tick);
}
