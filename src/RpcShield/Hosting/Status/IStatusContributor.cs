using System.Text.Json;
using RpcShield.Chains;

namespace RpcShield.Hosting.Status;

/// <summary>Adds a capability's fields to `/status` (breaker state, builders, mode detail…).</summary>
internal interface IStatusContributor
{
    void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstreams.Upstream upstream);

    void WriteChain(Utf8JsonWriter writer, ChainRuntime chain);
}
