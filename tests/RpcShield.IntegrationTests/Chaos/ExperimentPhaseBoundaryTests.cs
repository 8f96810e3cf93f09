using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RpcShield.Chaos.Experiments;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Chaos;

/// <summary>
/// The runner's phase boundaries against a target whose admin API is slow to take faults away
/// (as a loaded proxy is): probes answered after the faults were removed never count as chaos.
/// </summary>
public sealed class ExperimentPhaseBoundaryTests
{
    [Fact]
    public async Task Probes_answered_while_faults_are_being_removed_are_not_counted_as_chaos()
    {
        // The fake target serves from "b" while the fault rule exists and from "a" otherwise, like a
        // proxy failing over from an upstream with 500s injected. Removing the rule takes effect at
        // once but the DELETE answers only after 400 ms: the window the runner used to mislabel.
        var faulted = 0;
        await using var target = await FakeServer.StartAsync(app =>
        {
            app.MapGet("/admin/chaos", () => Results.Ok(new { armed = false }));
            app.MapPost("/admin/chaos/arm", () => Results.Ok());
            app.MapPost("/admin/chaos/disarm", () => Results.Ok());
            app.MapPost("/admin/chaos/halt", () => Results.Ok());
            app.MapPost("/admin/chaos/rules", () =>
            {
                Volatile.Write(ref faulted, 1);
                return Results.Ok();
            });
            app.MapDelete("/admin/chaos/rules/{name}", async () =>
            {
                Volatile.Write(ref faulted, 0);
                await Task.Delay(400);
                return Results.Ok();
            });
            app.MapPost("/", (HttpContext context) =>
            {
                context.Response.Headers["X-RpcShield-Upstream"] = Volatile.Read(ref faulted) == 1 ? "b" : "a";
                return Results.Text("""{"jsonrpc":"2.0","id":1,"result":"0x1"}""", "application/json");
            });
        });

        var yaml = $$"""
            name: boundary
            target: {{target.Url}}/
            admin_token: ${TOKEN}
            probe: { methods: [eth_blockNumber], rate: 50, concurrency: 2, timeout: 2s }
            hypothesis: { success_rate: 0.99 }
            phases: { baseline: 500ms, chaos: 1s, recovery: 500ms }
            faults:
              - { name: top-500, scope: upstream, targets: [a], fault: http_500, rate: 1.0 }
            """;
        var options = ExperimentLoader.Load(yaml, _ => "0123456789abcdef0123", out var errors);
        Assert.Empty(errors);

        using var runner = new ExperimentRunner(options, TimeProvider.System, TextWriter.Null);
        var report = await runner.RunAsync(CancellationToken.None);

        var chaos = report.Phases.Single(p => p.Phase == "chaos");
        Assert.True(chaos.Probes > 10, report.ToText());
        Assert.False(chaos.ServedBy.ContainsKey("a"), report.ToText());
        Assert.True(report.Phases.Single(p => p.Phase == "recovery").ServedBy.ContainsKey("a"), report.ToText());
    }
}
