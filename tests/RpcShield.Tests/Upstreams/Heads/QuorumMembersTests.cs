using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams.Heads;
using RpcShield.Tests.Routing.Hedging;

namespace RpcShield.Tests.Upstreams.Heads;

public sealed class QuorumMembersTests
{
    [Fact]
    public void Extra_requests_go_only_to_trusted_upstreams_when_any_is_marked()
    {
        var (_, open, _) = TestChains.Create(new FakeTimeProvider(), upstreams: 4);
        var candidates = open.Upstreams.ToArray();
        Assert.Equal(["u0", "u1", "u2"], QuorumMembers.Pick(open, candidates, 3).Select(u => u.Name));

        var (_, guarded, _) = TestChains.Create(new FakeTimeProvider(), c => c with { Upstreams = [.. c.Upstreams.Select((u, i) => i is 1 or 3 ? u with { Trusted = true } : u)] }, upstreams: 4);
        // The first candidate gets the read anyway; the extra requests go to trusted ones only.
        Assert.Equal(["u0", "u1", "u3"], QuorumMembers.Pick(guarded, guarded.Upstreams.ToArray(), 3).Select(u => u.Name));
        Assert.Equal(["u0", "u1", "u3"], QuorumMembers.Pick(guarded, guarded.Upstreams.ToArray(), 8).Select(u => u.Name));
    }
}
