using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Chains;
using RpcShield.Journal;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Outcomes;

internal static class OutcomeEndpoints
{
    private const int MaxBody = 16 * 1024;

    /// <summary>`POST /v1/outcomes`: the REST form of `rpcshield_reportOutcome` (same body; 202, or 400 naming the field).</summary>
    public static IEndpointRouteBuilder MapOutcomeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/outcomes", HandleAsync);
        return app;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var chains = services.GetRequiredService<ChainRegistry>();
        var journal = services.GetRequiredService<IFailureJournal>();
        var time = services.GetRequiredService<TimeProvider>();
        if (context.Request.ContentLength > MaxBody)
        {
            await WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"body larger than {MaxBody} bytes").ConfigureAwait(false);
            return;
        }

        using var body = new PooledBuffer(1024);
        if (!await body.ReadFromAsync(context.Request.Body, MaxBody, context.RequestAborted).ConfigureAwait(false))
        {
            await WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"body larger than {MaxBody} bytes").ConfigureAwait(false);
            return;
        }

        var strategyHeader = context.Request.Headers.TryGetValue("X-RpcShield-Strategy", out var header) ? header.ToString() : null;
        if (!OutcomeReportParser.TryParse(body.Memory, strategyHeader, out var report, out var error))
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        if (report!.Chain is { } chainName && !chains.TryGet(chainName, out _))
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, "chain: unknown chain").ConfigureAwait(false);
            return;
        }

        journal.Record(report.ToEntry(chains.Default.Name, time.GetUtcNow()));
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(journal is NullFailureJournal ? """{"accepted":true,"journaled":false}""" : """{"accepted":true,"journaled":true}""", context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var json = System.Text.Json.JsonSerializer.Serialize(error, OutcomeJsonContext.Default.String);
        await context.Response.WriteAsync($$"""{"error":{{json}}}""", context.RequestAborted).ConfigureAwait(false);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class OutcomeJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
