using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using RpcShield.Configuration;

namespace RpcShield.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>A private prometheus-net registry per host (no static state) and the metric set.</summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddSingleton(_ => Metrics.NewCustomRegistry());
        services.AddSingleton(sp =>
        {
            var metrics = new RpcShieldMetrics(sp.GetRequiredService<CollectorRegistry>());
            sp.GetRequiredService<ConfigStore>().ReloadAttempted += result => metrics.ConfigReloads.WithLabels(result).Inc();
            return metrics;
        });
        services.AddSingleton<LogLimiter>();
        services.AddSingleton<RequestFailures>();
        return services;
    }
}
