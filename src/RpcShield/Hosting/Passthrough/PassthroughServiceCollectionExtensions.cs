using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Configuration;

namespace RpcShield.Hosting.Passthrough;

internal static class PassthroughServiceCollectionExtensions
{
    /// <summary>
    /// `passthrough:` routes (beacon REST API, relay data API…) served by YARP's own route/cluster
    /// pipeline with active health checks and load balancing. Map with <c>app.MapReverseProxy()</c>.
    /// </summary>
    public static IServiceCollection AddPassthrough(this IServiceCollection services)
    {
        services.AddSingleton<PassthroughConfigProvider>();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<PassthroughConfigProvider>());
        services.AddReverseProxy().AddTransforms<PassthroughRequestTransforms>();
        services.Replace(ServiceDescriptor.Singleton<IProbingRequestFactory, PassthroughProbeFactory>());
        return services;
    }
}
