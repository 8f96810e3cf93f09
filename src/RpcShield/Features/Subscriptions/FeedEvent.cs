namespace RpcShield.Features.Subscriptions;

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
    /// <summary>HTTP polling serves the feed from the head in Block on (no WebSocket upstream).</summary>
    PollConfirmed,
    /// <summary>HTTP polling saw a new block (Block; Replaced = hashes it replaced in a reorg).</summary>
    PolledHead,
}

internal sealed record FeedEvent(
    FeedEventKind Kind,
    UpstreamSubscription? Source = null,
    byte[]? Payload = null,
    string? Reason = null,
    HeadPollLease? Poll = null,
    PolledBlock? Block = null,
    IReadOnlyList<string>? Replaced = null)
{
    public static readonly FeedEvent Tick = new(FeedEventKind.Tick);
}
