using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RpcShield.Chains;
using RpcShield.Upstreams.Health;
using RpcShield.JsonRpc;
using RpcShield.Hosting.Security;

namespace RpcShield.Hosting.Status;

/// <summary>`/healthz` (alive), `/readyz` (every chain has a healthy upstream) and `/status` (JSON detail).</summary>
internal static class StatusEndpoints
{
    public static IEndpointRouteBuilder MapStatusEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", static context =>
        {
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("ok");
        }).WithMetadata(ClientTokenNotRequired.Instance);

        app.MapGet("/readyz", static async context =>
        {
            var chains = context.RequestServices.GetRequiredService<ChainRegistry>();
            var notReady = chains.Chains.Where(c => c.HealthyCount == 0).Select(c => c.Name).ToArray();
            // A down journal is named but never fails readiness: RPC serves without it.
            var journal = context.RequestServices.GetService<Journal.JournalWriter>()?.Availability.DownReason is { } down
                ? $"journal down ({down}): entries are dropped"
                : null;
            context.Response.StatusCode = notReady.Length == 0 ? 200 : 503;
            await context.Response.WriteAsJsonAsync(notReady.Length == 0
                ? new ReadyBody("ready", journal)
                : new ReadyBody("not_ready", string.Join("; ", new[] { $"no healthy upstream for chain(s): {string.Join(", ", notReady)}", journal }.OfType<string>()))).ConfigureAwait(false);
        }).WithMetadata(ClientTokenNotRequired.Instance);

        app.MapGet("/status", static async context =>
        {
            var services = context.RequestServices;
            var chains = services.GetRequiredService<ChainRegistry>();
            var contributors = services.GetServices<IStatusContributor>().ToArray();
            var modes = services.GetRequiredService<IChainModeSource>();
            context.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteStartArray("chains");
            foreach (var chain in chains.Chains)
            {
                WriteChain(writer, chain, modes.ModeOf(chain.Name), contributors);
            }

            writer.WriteEndArray();
            WriteJournal(writer, services.GetService<Journal.JournalWriter>());
            writer.WriteEndObject();
            await writer.FlushAsync().ConfigureAwait(false);
        });
        return app;
    }

    private static void WriteChain(Utf8JsonWriter writer, ChainRuntime chain, string mode, IStatusContributor[] contributors)
    {
        writer.WriteStartObject();
        writer.WriteString("name", chain.Name);
        writer.WriteNumber("chain_id", chain.Options.ChainId);
        writer.WriteString("mode", mode);
        writer.WriteNumber("head", chain.BestHead);
        writer.WriteNumber("healthy_upstreams", chain.HealthyCount);
        writer.WriteStartArray("ranking");
        foreach (var upstream in chain.Ranking)
        {
            writer.WriteStringValue(upstream.Name);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("upstreams");
        foreach (var upstream in chain.Upstreams)
        {
            var health = upstream.Health;
            writer.WriteStartObject();
            writer.WriteString("name", upstream.Name);
            writer.WriteString("url", upstream.SafeUrl);
            writer.WriteString("tier", upstream.Options.Tier);
            writer.WriteString("health", health.Status.ToString().ToLowerInvariant());
            writer.WriteString("since", health.Since);
            if (health.LastError is { } error)
            {
                writer.WriteString("last_error", error);
            }

            writer.WriteNumber("score", Math.Round(upstream.Score, 4));
            writer.WriteNumber("head", health.Head);
            writer.WriteNumber("lag", chain.BestHead >= 0 && health.Head >= 0 ? Math.Max(0, chain.BestHead - health.Head) : 0);
            writer.WriteNumber("in_flight", upstream.InFlight);
            writer.WriteNumber("latency_ewma_ms", Math.Round(upstream.Latency.PeakEwmaMs, 3));
            WriteNullable(writer, "latency_p50_ms", upstream.Latency.Quantile(0.5));
            WriteNullable(writer, "latency_p90_ms", upstream.Latency.Quantile(0.9));
            var (ok, failed) = upstream.Errors.Totals();
            writer.WriteNumber("window_ok", ok);
            writer.WriteNumber("window_failed", failed);
            foreach (var contributor in contributors)
            {
                contributor.WriteUpstream(writer, chain, upstream);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        foreach (var contributor in contributors)
        {
            contributor.WriteChain(writer, chain);
        }

        writer.WriteEndObject();
    }

    /// <summary>`journal: { state: up|down|off, reason? }`.</summary>
    private static void WriteJournal(Utf8JsonWriter writer, Journal.JournalWriter? journal)
    {
        writer.WriteStartObject("journal");
        var down = journal?.Availability.DownReason;
        writer.WriteString("state", journal is null ? "off" : down is null ? "up" : "down");
        if (down is not null)
        {
            writer.WriteString("reason", down);
        }

        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, Math.Round(v, 3));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private sealed record ReadyBody(string Status, string? Reason);
}
