using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RpcShield.Configuration;

namespace RpcShield.Telemetry;

internal static class TracingServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="RpcTracing"/> always; the OpenTelemetry SDK with its OTLP/HTTP exporter only when
    /// `telemetry.otlp_endpoint` is set. The SDK listens to RpcShield's own source only: no
    /// ASP.NET Core or HttpClient spans (those would cost every request, and could carry URLs).
    /// </summary>
    public static IServiceCollection AddTracing(this IServiceCollection services, ProxyOptions options)
    {
        var endpoint = options.Telemetry.OtlpEndpoint;
        services.AddSingleton(new RpcTracing(enabled: endpoint is not null));
        if (endpoint is null)
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("rpcshield", serviceVersion: typeof(RpcTracing).Assembly.GetName().Version?.ToString()))
            .WithTracing(tracing => tracing
                .AddSource(RpcTracing.SourceName)
                .AddOtlpExporter(otlp =>
                {
                    otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
                    otlp.Endpoint = TracesUrl(endpoint);
                }));
        return services;
    }

    /// <summary>A base URL gets the OTLP/HTTP traces path; a URL with a path is taken as the full traces URL.</summary>
    internal static Uri TracesUrl(string endpoint)
    {
        var uri = new Uri(endpoint);
        return uri.AbsolutePath is "/" or "" ? new Uri(uri, "/v1/traces") : uri;
    }
}
