using System.Text.Json;
using RpcShield.Chains;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Chaos;

/// <summary>`/status`: per chain `"chaos": {"armed", "halted", "rules": [names that can touch this chain]}`.</summary>
internal sealed class ChaosStatusContributor : IStatusContributor
{
    private readonly IChaosController _chaos;

    public ChaosStatusContributor(IChaosController chaos) => _chaos = chaos;

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
        writer.WriteStartObject("chaos"u8);
        writer.WriteBoolean("armed"u8, _chaos.IsArmed);
        writer.WriteBoolean("halted"u8, _chaos.IsHalted);
        writer.WriteStartArray("rules"u8);
        foreach (var rule in _chaos.Rules)
        {
            if (rule.Chains.Count == 0 || rule.Chains.Contains(chain.Name, StringComparer.Ordinal))
            {
                writer.WriteStringValue(rule.Name);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream)
    {
    }
}
