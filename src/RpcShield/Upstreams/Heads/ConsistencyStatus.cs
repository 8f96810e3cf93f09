using System.Text.Json;
using RpcShield.Chains;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>/status: whether an upstream is `diverged` (outvoted by a verified read, ranked last for the cool-down).</summary>
internal sealed class ConsistencyStatus : IStatusContributor
{
    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream) => writer.WriteBoolean("diverged", upstream.IsDiverged);

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
    }
}
