using Microsoft.Extensions.Primitives;
using RpcShield.Configuration;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;

namespace RpcShield.Passthrough;

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
        for (var i = 0; i < routes.Count; i++)
        {
            var options = routes[i];
            var id = $"passthrough-{i}";
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

        return new Snapshot(routeConfigs, clusters);
    }

    public void Dispose() => _config.Changed -= OnChanged;

    internal sealed class Snapshot : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters)
        {
            Routes = routes;
            Clusters = clusters;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void SignalChange() => _changed.Cancel();
    }
}
