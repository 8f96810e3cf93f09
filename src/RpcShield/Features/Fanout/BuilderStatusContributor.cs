using System.Text.Json;
using RpcShield.Chains;
using RpcShield.Features.Inclusion;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Features.Fanout;

/// <summary>
/// `/status`: per chain, each builder's submission success rate and inclusion rate, why bundles missed the blocks it
/// built (`reasons`, from `rpcshield_getBundleStatus` verdicts), and bundles awaiting their block.
/// </summary>
internal sealed class BuilderStatusContributor(BuilderRegistry builders, InclusionTracker tracker, BundleStatus.BundleStatusBook? statuses = null) : IStatusContributor
{
    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream)
    {
    }

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
        var endpoints = builders.For(chain.Name);
        if (endpoints.Length == 0)
        {
            return;
        }

        writer.WriteNumber("bundles_pending", tracker.PendingFor(chain.Name));
        writer.WriteStartArray("builders");
        foreach (var builder in endpoints)
        {
            var stats = builder.Stats();
            writer.WriteStartObject();
            writer.WriteString("name", builder.Name);
            var regions = builder.Regions.Ranked();
            writer.WriteString("url", regions[0].SafeUrl);
            if (regions.Length > 1)
            {
                // Regional endpoints: the one in use first, then the fallbacks in the order they would be tried.
                writer.WriteStartArray("urls");
                for (var r = 0; r < regions.Length; r++)
                {
                    writer.WriteStartObject();
                    writer.WriteString("url", regions[r].SafeUrl);
                    writer.WriteBoolean("in_use", r == 0);
                    writer.WriteBoolean("healthy", builder.Regions.IsHealthy(regions[r]));
                    WriteRate(writer, "latency_ms", double.IsNaN(regions[r].LatencyMs) ? null : regions[r].LatencyMs);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            var settings = builder.Settings;
            writer.WriteString("profile", settings.Profile.Name);
            writer.WriteBoolean("sign", settings.Sign);
            writer.WriteString("cancel_style", settings.CancelStyle);
            writer.WriteString("result_shape", settings.ResultShape);
            writer.WriteNumber("max_rps", settings.MaxRps);
            writer.WriteNumber("submissions", stats.Submissions);
            writer.WriteNumber("ok", stats.Ok);
            writer.WriteNumber("error", stats.Error);
            writer.WriteNumber("timeout", stats.Timeout);
            writer.WriteNumber("throttled", stats.Throttled);
            WriteRate(writer, "success_rate", stats.SuccessRate);
            writer.WriteNumber("included", stats.Included);
            writer.WriteNumber("not_included", stats.NotIncluded);
            writer.WriteNumber("lost", stats.Lost);
            WriteRate(writer, "inclusion_rate", stats.InclusionRate);
            WriteReasons(writer, "reasons", statuses?.ReasonsFor(chain.Name, builder.Name));

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        WriteReasons(writer, "bundle_reasons", statuses?.ReasonsFor(chain.Name));
    }

    private static void WriteReasons(Utf8JsonWriter writer, string name, IReadOnlyList<KeyValuePair<string, long>>? reasons)
    {
        if (reasons is not { Count: > 0 })
        {
            return;
        }

        writer.WriteStartObject(name);
        foreach (var (reason, count) in reasons)
        {
            writer.WriteNumber(reason, count);
        }

        writer.WriteEndObject();
    }

    private static void WriteRate(Utf8JsonWriter writer, string name, double? rate)
    {
        if (rate is { } value)
        {
            writer.WriteNumber(name, Math.Round(value, 4));
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
