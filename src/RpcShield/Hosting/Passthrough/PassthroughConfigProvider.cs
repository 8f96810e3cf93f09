using Microsoft.Extensions.Primitives;
using RpcShield.Configuration;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;

namespace RpcShield.Hosting.Passthrough;

/// <summary>
/// YARP routes and clusters built from `passthrough:`; a config reload publishes a new snapshot
/// and signals the old one's change token, so YARP applies it live.
/// </summary>
internal sealed class PassthroughConfigProvider : IProxyConfigProvider, IDisposable
{
    /// <summary>Below RpcShield's own endpoints (order 0): a passthrough route never wins over them.</summary>
    public const int RouteOrder = 1000;

    private readonly ConfigStore _config;
    private volatile Snapshot _current;

    public PassthroughConfigProvider(ConfigStore config)
    {
        _config = config;
        _current = Build(config.Current.Passthrough);
        config.Changed += OnChanged;
    }

    public IProxyConfig GetConfig() => _current;

    /// <summary>The configured `headers` of a passthrough route (route and cluster share one id).</summary>
    public IReadOnlyDictionary<string, string> HeadersOf(string id) =>
        _current.Headers.TryGetValue(id, out var headers) ? headers : NoHeaders;

    private static readonly Dictionary<string, string> NoHeaders = [];

    private void OnChanged(ProxyOptions previous, ProxyOptions next)
    {
        var old = _current;
        _current = Build(next.Passthrough);
        old.SignalChange();
    }

    public static string? LoadBalancingPolicy(string name) => name switch
    {
        "power_of_two_choices" => LoadBalancingPolicies.PowerOfTwoChoices,
        "round_robin" => LoadBalancingPolicies.RoundRobin,
        "least_requests" => LoadBalancingPolicies.LeastRequests,
        "random" => LoadBalancingPolicies.Random,
        "first" => LoadBalancingPolicies.FirstAlphabetical,
        _ => null,
    };

    /// <summary>The literal prefix removed before forwarding (`/beacon` for `/beacon/{**rest}`), or null.</summary>
    public static string? PrefixOf(string path)
    {
        var brace = path.IndexOf('{', StringComparison.Ordinal);
        if (brace < 0)
        {
            return null;
        }

        var prefix = path[..brace].TrimEnd('/');
        return prefix.Length == 0 ? null : prefix;
    }

    internal static Snapshot Build(IReadOnlyList<PassthroughOptions> routes)
    {
        var routeConfigs = new List<RouteConfig>(routes.Count);
        var clusters = new List<ClusterConfig>(routes.Count);
        var headers = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        for (var i = 0; i < routes.Count; i++)
        {
            var options = routes[i];
            var id = $"passthrough-{i}";
            headers[id] = options.Headers;
            var transforms = new List<IReadOnlyDictionary<string, string>>();
            if (PrefixOf(options.Path) is { } prefix)
            {
                transforms.Add(new Dictionary<string, string> { ["PathRemovePrefix"] = prefix });
            }

            routeConfigs.Add(new RouteConfig
            {
                RouteId = id,
                ClusterId = id,
                Order = RouteOrder,
                Match = new RouteMatch { Path = options.Path },
                Transforms = transforms,
            });

            var destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal);
            for (var d = 0; d < options.Destinations.Count; d++)
            {
                destinations[$"d{d}"] = new DestinationConfig { Address = options.Destinations[d] };
            }

            clusters.Add(new ClusterConfig
            {
                ClusterId = id,
                Destinations = destinations,
                LoadBalancingPolicy = LoadBalancingPolicy(options.LoadBalancing) ?? LoadBalancingPolicies.PowerOfTwoChoices,
                HealthCheck = options.HealthPath is null ? null : new HealthCheckConfig
                {
                    Active = new ActiveHealthCheckConfig
                    {
                        Enabled = true,
                        Interval = options.HealthInterval,
                        Timeout = options.HealthTimeout,
                        Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                        Path = options.HealthPath,
                    },
                },
            });
        }

        return new Snapshot(routeConfigs, clusters, headers);
    }

    public void Dispose() => _config.Changed -= OnChanged;

    internal sealed class Snapshot : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> headers)
        {
            Routes = routes;
            Clusters = clusters;
            Headers = headers;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        /// <summary>Configured headers per route id (secrets: kept out of YARP's config and logs).</summary>
        public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Headers { get; }

        public void SignalChange() => _changed.Cancel();
    }
}
