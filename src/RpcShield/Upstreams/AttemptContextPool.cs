using Microsoft.Extensions.ObjectPool;
using Polly;

namespace RpcShield.Upstreams;

/// <summary>
/// Polly resilience contexts for attempts, held in a pool sized for a proxy's concurrency. Polly's
/// shared pool keeps 2 × cores − 1 contexts (3 on two cores), so with 32 requests in flight nearly
/// every attempt allocated a context, its properties and their dictionary (~0.2 KB). Contexts still
/// come from and go back through Polly's pool, which resets them; this only keeps more of them.
/// Those handed out by <see cref="Get"/> carry no cancellation token: the attempt's own token
/// travels with the attempt (the breaker reads none).
/// </summary>
internal sealed class AttemptContextPool
{
    private readonly ObjectPool<ResilienceContext> _clean = new DefaultObjectPool<ResilienceContext>(new FromPolly(), maximumRetained: 512);

    public static AttemptContextPool Shared { get; } = new();

    /// <summary>A reset context without a cancellation token.</summary>
    public ResilienceContext Get() => _clean.Get();

    /// <summary>Resets <paramref name="context"/> through Polly's pool and keeps a reset one in its place.</summary>
    public void Return(ResilienceContext context)
    {
        ResilienceContextPool.Shared.Return(context);
        _clean.Return(ResilienceContextPool.Shared.Get());
    }

    private sealed class FromPolly : IPooledObjectPolicy<ResilienceContext>
    {
        public ResilienceContext Create() => ResilienceContextPool.Shared.Get();

        public bool Return(ResilienceContext context) => true;
    }
}
