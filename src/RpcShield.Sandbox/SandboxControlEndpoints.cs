using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RpcShield.Sandbox;

/// <summary>
/// The sandbox control API, served on RpcShield's listener next to `/status` (loopback clients only):
/// `GET /sandbox`, `POST /sandbox/nodes/{name}/{stop|stall|lag|slow|heal}` (`?blocks=N`, `?ms=N`),
/// `POST /sandbox/builders/{name}/{stop|heal}`, `POST /sandbox/seal[?winner=name]`,
/// `GET /sandbox/builders/{name}/verdicts` (the builder's own verdict on every bundle it was sent).
/// </summary>
internal static class SandboxControlEndpoints
{
    public static IEndpointRouteBuilder MapSandboxControl(this IEndpointRouteBuilder app, SandboxNetwork network)
    {
        var group = app.MapGroup("/sandbox").AddEndpointFilter(static async (context, next) =>
        {
            var remote = context.HttpContext.Connection.RemoteIpAddress;
            if (remote is null || !IPAddress.IsLoopback(remote))
            {
                return Results.Json(new Dictionary<string, string> { ["error"] = "the sandbox control API is loopback only" }, statusCode: 403);
            }

            return await next(context).ConfigureAwait(false);
        });

        group.MapGet("/", async context =>
        {
            context.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter, new JsonWriterOptions { Indented = true });
            WriteState(writer, network);
            await writer.FlushAsync().ConfigureAwait(false);
        });

        group.MapPost("/nodes/{name}/{action}", async (string name, string action, int? blocks, int? ms, CancellationToken ct) =>
        {
            if (network.Node(name) is not { } node)
            {
                return Results.Json(Error($"no sandbox node named '{name}'"), statusCode: 404);
            }

            switch (action)
            {
                case "stop":
                    await node.StopAsync().ConfigureAwait(false);
                    break;
                case "stall":
                    node.Stall();
                    break;
                case "lag":
                    if (blocks is < 1 or > 10_000)
                    {
                        return Results.Json(Error("blocks must be between 1 and 10000"), statusCode: 400);
                    }

                    node.Lag(blocks ?? 5);
                    break;
                case "slow":
                    if (ms is < 0 or > 60_000)
                    {
                        return Results.Json(Error("ms must be between 0 and 60000"), statusCode: 400);
                    }

                    node.Slow(TimeSpan.FromMilliseconds(ms ?? 500));
                    break;
                case "heal":
                    await node.HealAsync(ct).ConfigureAwait(false);
                    break;
                default:
                    return Results.Json(Error("action must be stop, stall, lag, slow or heal"), statusCode: 400);
            }

            return Results.Json(NodeView(node));
        });

        group.MapPost("/builders/{name}/{action}", async (string name, string action, CancellationToken ct) =>
        {
            if (network.Builder(name) is not { } builder)
            {
                return Results.Json(Error($"no sandbox builder named '{name}'"), statusCode: 404);
            }

            switch (action)
            {
                case "stop":
                    await builder.StopAsync().ConfigureAwait(false);
                    break;
                case "heal":
                    await builder.StartAsync(ct).ConfigureAwait(false);
                    break;
                default:
                    return Results.Json(Error("action must be stop or heal"), statusCode: 400);
            }

            return Results.Json(new Dictionary<string, object> { ["name"] = builder.Name, ["running"] = builder.IsRunning });
        });

        group.MapGet("/builders/{name}/verdicts", (string name) => network.Builder(name) is { } builder
            ? Results.Json(builder.Verdicts.Select(v => new Dictionary<string, object?>
            {
                ["bundle_hash"] = v.BundleHash, ["block"] = v.Block, ["verdict"] = v.Verdict, ["detail"] = v.Detail,
            }))
            : Results.Json(Error($"no sandbox builder named '{name}'"), statusCode: 404));

        group.MapPost("/seal", async (string? winner, CancellationToken ct) =>
        {
            if (winner is not null && network.Builder(winner) is null)
            {
                return Results.Json(Error($"no sandbox builder named '{winner}'"), statusCode: 404);
            }

            var block = await network.SealAsync(winner, ct).ConfigureAwait(false);
            return Results.Json(new Dictionary<string, object?> { ["block"] = block.Number, ["builder"] = block.Builder, ["bundles"] = block.Bundles.Count });
        });
        return app;
    }

    private static Dictionary<string, string> Error(string message) => new() { ["error"] = message };

    private static Dictionary<string, object> NodeView(SandboxNode node) => new()
    {
        ["name"] = node.Name,
        ["port"] = node.Port,
        ["state"] = node.State.ToString().ToLowerInvariant(),
        ["lag_blocks"] = node.LagBlocks,
        ["latency_ms"] = node.Latency.TotalMilliseconds,
    };

    private static void WriteState(Utf8JsonWriter writer, SandboxNetwork network)
    {
        writer.WriteStartObject();
        writer.WriteNumber("chain_id", network.ChainId);
        writer.WriteNumber("slot_ms", network.Options.Slot.TotalMilliseconds);
        writer.WriteNumber("head", network.Slots.Head);
        writer.WriteString("coinbase_tipper", SlotProducer.CoinbaseTipper);
        writer.WriteStartArray("nodes");
        foreach (var node in network.Nodes)
        {
            writer.WriteStartObject();
            writer.WriteString("name", node.Name);
            writer.WriteString("url", $"http://127.0.0.1:{node.Port.ToString(CultureInfo.InvariantCulture)}");
            writer.WriteString("state", node.State.ToString().ToLowerInvariant());
            writer.WriteNumber("lag_blocks", node.LagBlocks);
            writer.WriteNumber("latency_ms", node.Latency.TotalMilliseconds);
            writer.WriteNumber("served", node.Served);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("builders");
        foreach (var builder in network.Builders)
        {
            writer.WriteStartObject();
            writer.WriteString("name", builder.Name);
            writer.WriteString("url", $"http://127.0.0.1:{builder.Port.ToString(CultureInfo.InvariantCulture)}");
            writer.WriteString("coinbase", builder.Coinbase);
            writer.WriteNumber("weight", builder.Weight);
            writer.WriteBoolean("require_signature", builder.RequireSignature);
            writer.WriteBoolean("running", builder.IsRunning);
            writer.WriteNumber("pending", builder.PendingCount);
            writer.WriteNumber("wins", builder.Wins);
            writer.WriteNumber("bundles_included", builder.IncludedBundles);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("recent_blocks");
        foreach (var block in network.History.TakeLast(20))
        {
            writer.WriteStartObject();
            writer.WriteNumber("number", block.Number);
            writer.WriteString("builder", block.Builder);
            writer.WriteString("coinbase", block.Coinbase);
            writer.WriteStartArray("bundles");
            foreach (var bundle in block.Bundles)
            {
                writer.WriteStartObject();
                writer.WriteString("bundle_hash", bundle.BundleHash);
                writer.WriteBoolean("included", bundle.Included);
                if (bundle.Reason is not null)
                {
                    writer.WriteString("reason", bundle.Reason);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
