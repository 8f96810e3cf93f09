using Polly;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams;

public sealed class AttemptContextPoolTests
{
    private static readonly ResiliencePropertyKey<string> Key = new("test.key");

    [Fact]
    public void A_returned_context_comes_back_reset_and_without_a_token()
    {
        var pool = new AttemptContextPool();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var used = ResilienceContextPool.Shared.Get(cancelled.Token);
        used.Properties.Set(Key, "left over");

        pool.Return(used);
        // More than Polly's own pool keeps: every one handed out is clean.
        var contexts = Enumerable.Range(0, 16).Select(_ => pool.Get()).ToList();

        Assert.All(contexts, context =>
        {
            Assert.False(context.CancellationToken.CanBeCanceled);
            Assert.False(context.Properties.TryGetValue(Key, out _));
        });
    }

    [Fact]
    public void Contexts_returned_while_many_are_out_are_kept_for_reuse()
    {
        var pool = new AttemptContextPool();
        var out32 = new ResilienceContext[32];
        Round(pool, out32);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Round(pool, out32);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Polly's pool alone keeps 2 × cores − 1: at 32 out, most would be new contexts (~0.2 KB each).
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 32 contexts taken and returned");
    }

    private static void Round(AttemptContextPool pool, ResilienceContext[] contexts)
    {
        for (var i = 0; i < contexts.Length; i++)
        {
            contexts[i] = pool.Get();
        }

        foreach (var context in contexts)
        {
            pool.Return(context);
        }
    }
}
