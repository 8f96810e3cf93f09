using Microsoft.Extensions.DependencyInjection;
using RpcShield.Hosting.Status;

namespace RpcShield.Features.Caching;

internal static class CachingServiceCollectionExtensions
{
    /// <summary>The response cache in front of the read forwarder and its /status fields. Call after AddHeads.</summary>
    public static IServiceCollection AddResponseCache(this IServiceCollection services)
    {
        services.AddSingleton<ResponseCache>();
        services.AddSingleton<IStatusContributor, CacheStatusContributor>();
        return services;
    }
}
