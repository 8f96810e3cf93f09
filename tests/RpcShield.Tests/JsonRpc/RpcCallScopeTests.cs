using Microsoft.AspNetCore.Http;
using RpcShield.JsonRpc;
using RpcShield.Tests.Routing.Hedging;

namespace RpcShield.Tests.JsonRpc;

public sealed class RpcCallScopeTests
{
    [Fact]
    public async Task Publishes_nothing_unless_a_consumer_wants_it()
    {
        var scope = new RpcCallScope();
        var wanted = false;
        scope.PublishWhile(() => wanted);

        var seen = await Task.Run(() =>
        {
            using var published = scope.Enter(TestChains.HttpCall());
            return (published, scope.Current);
        });

        Assert.Null(seen.published);
        Assert.Null(seen.Current);
    }

    [Fact]
    public async Task The_call_flows_into_awaited_work_and_is_gone_once_the_dispatch_ends()
    {
        var scope = new RpcCallScope();
        scope.PublishWhile(() => true);
        var call = TestChains.HttpCall();
        RpcCall? inside = null;
        Task<RpcCall?>? straggler = null;
        using var release = new SemaphoreSlim(0);

        await Task.Run(async () =>
        {
            using (scope.Enter(call))
            {
                inside = await Task.Run(() => scope.Current);
                // Background work forked from the dispatch that outlives it.
                straggler = Task.Run(async () =>
                {
                    await release.WaitAsync();
                    return scope.Current;
                });
            }
        });
        release.Release();

        Assert.Same(call, inside);
        Assert.Null(await straggler!);
        Assert.Null(scope.Current);
    }
}
