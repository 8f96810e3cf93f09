using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using RpcShield.Configuration;

namespace RpcShield.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>A private prometheus-net registry per host (no static state) and the metric set.</summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services)
    {
        services.AddSingleton(_ => Metrics.NewCustomRegistry());
        services.AddSingleton(sp =>
        {
            var metrics = new RpcShieldMetrics(sp.GetRequiredService<CollectorRegistry>());
            var config = sp.GetRequiredService<ConfigStore>();
            config.ReloadAttempted += result => metrics.ConfigReloads.WithLabels(result).Inc();
            MetricSeeder.Seed(metrics, config.Current);
            config.Changed += (_, next) => MetricSeeder.Seed(metrics, next);
            return metrics;
        });
        services.AddSingleton<LogLimiter>();
        services.AddSingleton<RequestFailures>();
        return services;
    }
}
