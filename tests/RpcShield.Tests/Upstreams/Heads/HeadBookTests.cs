using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams.Heads;

namespace RpcShield.Tests.Upstreams.Heads;

public sealed class HeadBookTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Delay_is_measured_from_the_first_upstream_to_show_each_block()
    {
        var book = new HeadBook(_time);

        Assert.Equal(HeadChange.Advanced, Observe(book, "a", 5, "0x5", "0x4", out var first));
        _time.Advance(TimeSpan.FromMilliseconds(300));
        Observe(book, "b", 5, "0x5", "0x4", out var late);
        Assert.Equal(HeadChange.Same, Observe(book, "b", 5, "0x5", null, out var repeated));

        Assert.Equal((TimeSpan.Zero, TimeSpan.FromMilliseconds(300), (TimeSpan?)null), (first, late, repeated));
    }

    [Fact]
    public void Back_a_block_a_new_hash_at_the_same_height_and_a_foreign_parent_are_reorgs()
    {
        var book = new HeadBook(_time);
        Observe(book, "a", 5, "0x5", "0x4", out _);

        Assert.Equal(HeadChange.Advanced, Observe(book, "a", 6, "0x6", "0x5", out _));
        Assert.Equal(HeadChange.Reorg, Observe(book, "a", 6, "0x6b", "0x5", out _));
        Assert.Equal(HeadChange.Reorg, Observe(book, "a", 7, "0x7", "0x6", out _)); // parent is the replaced 0x6, not 0x6b
        Assert.Equal(HeadChange.Reorg, Observe(book, "a", 4, "0x4", "0x3", out _));
        Assert.Equal(HeadChange.Advanced, Observe(book, "a", 9, "0x9", "0x8", out _)); // a skip is no evidence either way
        Assert.Equal(HeadChange.Same, Observe(book, "a", 9, null, null, out _)); // a probe's number without hash
    }

    private static HeadChange Observe(HeadBook book, string upstream, long number, string? hash, string? parent, out TimeSpan? delay) =>
        book.Observe(upstream, number, hash, parent, out delay, out _, out _);
}
