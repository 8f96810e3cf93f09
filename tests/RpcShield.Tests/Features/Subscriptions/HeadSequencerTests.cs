using RpcShield.Features.Subscriptions;

namespace RpcShield.Tests.Features.Subscriptions;

public sealed class HeadSequencerTests
{
    [Fact]
    public void Consecutive_heads_are_delivered_and_a_repeat_is_dropped()
    {
        var heads = new HeadSequencer();
        Assert.Equal(HeadDecision.Deliver, heads.Decide(10, "0xa", 128));
        heads.Delivered(10, "0xa");
        Assert.Equal(HeadDecision.Drop, heads.Decide(10, "0xa", 128));
        Assert.Equal(HeadDecision.Deliver, heads.Decide(11, "0xb", 128));
    }

    [Fact]
    public void After_a_switch_numbers_already_delivered_are_dropped_even_with_other_hashes()
    {
        var heads = new HeadSequencer();
        heads.Delivered(10, "0xa");
        heads.SourceChanged();
        Assert.Equal(HeadDecision.Drop, heads.Decide(9, "0xother9", 128));
        Assert.Equal(HeadDecision.Drop, heads.Decide(10, "0xother10", 128));
        Assert.Equal(HeadDecision.Deliver, heads.Decide(11, "0xb", 128));
    }

    [Fact]
    public void A_gap_is_reported_for_filling_in_order()
    {
        var heads = new HeadSequencer();
        heads.Delivered(10, "0xa");
        heads.SourceChanged();
        Assert.Equal(HeadDecision.FillGap, heads.Decide(14, "0xe", 128));
        Assert.Equal(11, heads.GapFrom);
        Assert.Equal(13, heads.GapTo);
    }

    [Fact]
    public void A_gap_larger_than_the_limit_resumes_at_the_new_head()
    {
        var heads = new HeadSequencer();
        heads.Delivered(10, "0xa");
        Assert.Equal(HeadDecision.Deliver, heads.Decide(500, "0xf", 128));
    }

    [Fact]
    public void A_reorg_reported_by_the_same_upstream_is_delivered()
    {
        var heads = new HeadSequencer();
        heads.Delivered(10, "0xa");
        heads.Delivered(11, "0xb");
        Assert.Equal(HeadDecision.Deliver, heads.Decide(11, "0xb2", 128));
        heads.Delivered(11, "0xb2");
        Assert.Equal(HeadDecision.Deliver, heads.Decide(12, "0xc", 128));
    }
}
