using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RpcShield.Chaos;
using RpcShield.Configuration;
using RpcShield.Hosting.Security;

namespace RpcShield.Hosting.Admin;

/// <summary>
/// `/admin/chaos`: state; `/admin/chaos/rules` (GET list, POST add with `ttl`),
/// `DELETE /admin/chaos/rules/{name}`; `POST /admin/chaos/halt` (kill switch),
/// `/admin/chaos/arm`, `/admin/chaos/disarm`, `/admin/chaos/resume`. Guarded by <see cref="AdminGuard"/>.
/// </summary>
internal static class ChaosAdminEndpoints
{
    /// <summary>Runtime rules live at most this long.</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromHours(24);

    public static readonly TimeSpan DefaultTtl = TimeSpan.FromMinutes(10);

    public static IEndpointRouteBuilder MapChaosAdmin(this IEndpointRouteBuilder app)
    {
        // The admin API checks its own token (AdminGuard), not the client token.
        var group = app.MapGroup("/admin/chaos").WithMetadata(ClientTokenNotRequired.Instance);
        group.AddEndpointFilter(async (ctx, next) =>
        {
            var config = ctx.HttpContext.RequestServices.GetRequiredService<ConfigStore>();
            if (AdminGuard.Check(ctx.HttpContext, config.Current.Admin) is { } refused)
            {
                return Results.Json(new AdminMessage(refused.Reason), AdminJson.Default.AdminMessage, statusCode: refused.Status);
            }

            return await next(ctx).ConfigureAwait(false);
        });

        group.MapGet("", (IChaosController chaos, ConfigStore config) => Results.Json(State(chaos, config), AdminJson.Default.ChaosState));
        group.MapGet("/rules", (IChaosController chaos) => Results.Json(chaos.Rules.Select(RuleView.From).ToArray(), AdminJson.Default.RuleViewArray));
        group.MapPost("/rules", AddRuleAsync);
        group.MapDelete("/rules/{name}", (string name, IChaosController chaos) =>
            chaos.RemoveRuntimeRule(name) ? Results.NoContent() : Results.Json(new AdminMessage($"no runtime rule '{name}'"), AdminJson.Default.AdminMessage, statusCode: 404));
        group.MapPost("/halt", (IChaosController chaos, ConfigStore config) =>
        {
            chaos.Halt();
            return Results.Json(State(chaos, config), AdminJson.Default.ChaosState);
        });
        group.MapPost("/arm", (IChaosController chaos, ConfigStore config) =>
        {
            chaos.Arm();
            return Results.Json(State(chaos, config), AdminJson.Default.ChaosState);
        });
        group.MapPost("/disarm", (IChaosController chaos, ConfigStore config) =>
        {
            chaos.Disarm();
            return Results.Json(State(chaos, config), AdminJson.Default.ChaosState);
        });
        group.MapPost("/resume", (IChaosController chaos, ConfigStore config) =>
        {
            chaos.Resume();
            return Results.Json(State(chaos, config), AdminJson.Default.ChaosState);
        });
        return app;
    }

    private static async Task<IResult> AddRuleAsync(HttpContext context, IChaosController chaos, TimeProvider time)
    {
        AddRuleRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, AdminJson.Default.AddRuleRequest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Bad($"invalid JSON: {ex.Message}");
        }

        if (request is null)
        {
            return Bad("a rule object is required");
        }

        var ttl = DefaultTtl;
        if (request.Ttl is not null && (!DurationParser.TryParse(request.Ttl, out ttl) || ttl <= TimeSpan.Zero || ttl > MaxTtl))
        {
            return Bad("ttl must be a duration between 1ms and 24h");
        }

        TimeSpan? retryAfter = null;
        if (request.RetryAfter is not null)
        {
            if (!DurationParser.TryParse(request.RetryAfter, out var parsed))
            {
                return Bad("retry_after must be a duration");
            }

            retryAfter = parsed;
        }

        var options = new ChaosRuleOptions
        {
            Name = request.Name ?? "",
            Scope = request.Scope ?? "client",
            Chains = request.Chains ?? [],
            Targets = request.Targets ?? [],
            Methods = request.Methods ?? [],
            Fault = request.Fault ?? "",
            Rate = request.Rate ?? 1.0,
            Latency = request.Latency,
            ErrorCode = request.ErrorCode,
            ErrorMessage = request.ErrorMessage,
            StaleBlocks = request.StaleBlocks ?? 3,
            RetryAfter = retryAfter,
            AllowSends = request.AllowSends ?? false,
        };
        var rule = ChaosRule.From(options, "runtime", time.GetUtcNow() + ttl, out var error);
        if (rule is null)
        {
            return Bad(error!);
        }

        if (chaos.AddRuntimeRule(rule) is { } refused)
        {
            return Results.Json(new AdminMessage(refused), AdminJson.Default.AdminMessage, statusCode: StatusCodes.Status409Conflict);
        }

        var stored = chaos.Rules.First(r => r.Name == rule.Name);
        return Results.Json(RuleView.From(stored), AdminJson.Default.RuleView, statusCode: StatusCodes.Status201Created);
    }

    private static IResult Bad(string message) => Results.Json(new AdminMessage(message), AdminJson.Default.AdminMessage, statusCode: StatusCodes.Status400BadRequest);

    private static ChaosState State(IChaosController chaos, ConfigStore config) =>
        new(chaos.IsArmed, chaos.IsHalted, config.Current.Chaos.Enabled, config.Current.Chaos.AllowHeader, chaos.Rules.Select(RuleView.From).ToArray());
}

internal sealed record AdminMessage(string Error);

internal sealed record ChaosState(bool Armed, bool Halted, bool Enabled, bool AllowHeader, RuleView[] Rules);

/// <summary>Body of `POST /admin/chaos/rules` (same keys as a `chaos.rules` entry, plus `ttl`).</summary>
internal sealed class AddRuleRequest
{
    public string? Name { get; set; }
    public string? Scope { get; set; }
    public List<string>? Chains { get; set; }
    public List<string>? Targets { get; set; }
    public List<string>? Methods { get; set; }
    public string? Fault { get; set; }
    public double? Rate { get; set; }
    public string? Latency { get; set; }
    public int? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
    public int? StaleBlocks { get; set; }
    public string? RetryAfter { get; set; }
    public bool? AllowSends { get; set; }
    /// <summary>How long the rule lives (default 10m, at most 24h).</summary>
    public string? Ttl { get; set; }
}

internal sealed record RuleView(
    string Name, string Scope, string Fault, IReadOnlyList<string> Chains, IReadOnlyList<string> Targets, IReadOnlyList<string> Methods,
    double Rate, string? Latency, int ErrorCode, string ErrorMessage, int StaleBlocks, bool AllowSends, string Source, DateTimeOffset? ExpiresAt)
{
    public static RuleView From(ChaosRule rule) => new(
        rule.Name, ChaosFaults.ScopeName(rule.Scope), ChaosFaults.Name(rule.Fault), rule.Chains, rule.Targets, rule.Methods, rule.Rate,
        rule.Latency is { } l ? (l.Min == l.Max ? DurationParser.Format(l.Min) : $"{DurationParser.Format(l.Min)}..{DurationParser.Format(l.Max)}") : null,
        rule.ErrorCode, rule.ErrorMessage, rule.StaleBlocks, rule.AllowSends, rule.Source, rule.ExpiresAt);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminMessage))]
[JsonSerializable(typeof(ChaosState))]
[JsonSerializable(typeof(RuleView))]
[JsonSerializable(typeof(RuleView[]))]
[JsonSerializable(typeof(AddRuleRequest))]
internal sealed partial class AdminJson : JsonSerializerContext;
