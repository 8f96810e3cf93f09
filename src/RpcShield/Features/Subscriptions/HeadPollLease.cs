using System.Threading.Channels;

namespace RpcShield.Features.Subscriptions;

/// <summary>One feed's attachment to its chain's <see cref="HttpHeadPoller"/>: the feed's events carry it, so a feed can tell its current poll from an old one.</summary>
internal sealed class HeadPollLease(HttpHeadPoller poller, ChannelWriter<FeedEvent> events)
{
    public HttpHeadPoller Poller { get; } = poller;

    /// <summary>Polling serves this feed from <paramref name="head"/> on (the head when it attached: not a new block).</summary>
    public void Confirm(PolledBlock head) => events.TryWrite(new FeedEvent(FeedEventKind.PollConfirmed, Poll: this, Block: head));

    /// <summary>A new block; <paramref name="replaced"/> are the hashes of published blocks it replaces (a reorg).</summary>
    public void Publish(PolledBlock block, IReadOnlyList<string> replaced) =>
        events.TryWrite(new FeedEvent(FeedEventKind.PolledHead, Poll: this, Block: block, Replaced: replaced));
}
