using Polly;
using RpcShield.Chaos;
using RpcShield.Configuration;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Chaos;

public sealed class BuilderChaosTests
{
    private static async Task<(string Outcome, int Submitted)> SubmitAsync(ChaosTestKit kit, TimeSpan timeout, Func<Task>? whilePending = null)
    {
        var builder = new ResiliencePipelineBuilder<string> { TimeProvider = kit.Time };
        new BuilderChaos(kit.Controller, kit.Time).Contribute(builder, "test", "flashbots", timeout, (rule, reason) => $"failed:{reason}:{rule.Name}");
        var pipeline = builder.Build();
        var submitted = 0;
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(BuilderChaos.BuilderMethodKey, "eth_sendBundle");
        try
        {
            var pending = pipeline.ExecuteAsync((_, _) =>
            {
                Interlocked.Increment(ref submitted);
                return ValueTask.FromResult("ok");
            }, context, 0).AsTask();
            if (whilePending is not null)
            {
                await whilePending();
            }

            return (await pending.WaitAsync(TimeSpan.FromSeconds(5)), submitted);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static ChaosRuleOptions Rule(string fault, bool allowSends = false) =>
        new() { Name = "b", Scope = "builder", Fault = fault, Targets = ["flashbots"], AllowSends = allowSends };

    [Fact]
    public async Task Reject_answers_the_factory_failure_without_submitting()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("builder_reject")));
        var (outcome, submitted) = await SubmitAsync(kit, TimeSpan.FromSeconds(2));
        Assert.Equal("failed:chaos_builder_reject:b", outcome);
        Assert.Equal(0, submitted);
        Assert.Equal(1, kit.Injections("b", "builder_reject"));
    }

    [Fact]
    public async Task Timeout_hangs_for_the_builder_timeout()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("builder_timeout")));
        var (outcome, submitted) = await SubmitAsync(kit, TimeSpan.FromSeconds(2), async () =>
        {
            await Task.Delay(20);
            kit.Time.Advance(TimeSpan.FromSeconds(2));
        });
        Assert.Equal("failed:chaos_builder_timeout:b", outcome);
        Assert.Equal(0, submitted);
    }

    [Fact]
    public async Task Halt_during_a_timeout_hang_lets_the_submission_through()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("builder_timeout")));
        var (outcome, submitted) = await SubmitAsync(kit, TimeSpan.FromSeconds(2), async () =>
        {
            await Task.Delay(50);
            Assert.Equal(1, kit.Injections("b", "builder_timeout"));
            kit.Controller.Halt();
        });
        Assert.Equal("ok", outcome);
        Assert.Equal(1, submitted);
    }

    [Fact]
    public async Task Allow_sends_submits_then_reports_failure()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Rule("builder_reject", allowSends: true)));
        var (outcome, submitted) = await SubmitAsync(kit, TimeSpan.FromSeconds(2));
        Assert.Equal("failed:chaos_builder_reject:b", outcome);
        Assert.Equal(1, submitted);
    }
}
