using Polly;

namespace RpcShield.Upstreams.Resilience;

/// <summary>Options object for RpcShield's own small Polly strategies (only a name for telemetry).</summary>
internal sealed class NamedStrategyOptions : ResilienceStrategyOptions
{
    public NamedStrategyOptions(string name) => Name = name;
}
