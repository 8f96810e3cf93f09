using RpcShield.Chaos;
using RpcShield.Configuration;

namespace RpcShield.Tests.Chaos;

public sealed class ChaosControllerTests
{
    private static readonly ChaosRuleOptions Http500 = new() { Name = "r500", Scope = "client", Fault = "http_500", Rate = 1.0, Methods = ["eth_call"] };

    [Fact]
    public void Nothing_matches_unless_chaos_is_armed_and_runtime_arming_works()
    {
        var kit = new ChaosTestKit(new ChaosOptions { Enabled = false, Rules = [Http500] });
        Assert.False(kit.Controller.IsArmed);
        Assert.Null(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));

        kit.Controller.Arm();
        Assert.Equal("r500", kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true)?.Name);
        Assert.Null(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_getBalance", _ => true));
        Assert.Null(kit.Controller.Match(ChaosScope.Upstream, "test", "a", "eth_call", _ => true));
    }

    [Fact]
    public void Halt_stops_static_and_runtime_rules_at_once_and_resume_restores_config()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Http500));
        var runtime = ChaosRule.From(new ChaosRuleOptions { Name = "rt", Scope = "upstream", Fault = "http_500" }, "runtime", kit.Time.GetUtcNow().AddMinutes(1), out _)!;
        Assert.Null(kit.Controller.AddRuntimeRule(runtime));
        Assert.NotNull(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
        Assert.NotNull(kit.Controller.Match(ChaosScope.Upstream, "test", "a", "eth_call", _ => true));

        kit.Controller.Halt();
        Assert.True(kit.Controller.IsHalted);
        Assert.Null(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
        Assert.Null(kit.Controller.Match(ChaosScope.Upstream, "test", "a", "eth_call", _ => true));
        Assert.False(kit.Controller.ShouldDisconnect(ChaosScope.Client, "test", null));

        kit.Controller.Resume();
        Assert.NotNull(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
    }

    [Fact]
    public void Rate_is_rolled_with_the_injected_random_source()
    {
        var rule = new ChaosRuleOptions { Name = "half", Scope = "client", Fault = "http_500", Rate = 0.5 };
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(rule), new FixedRandom(0.49, 0.51, 0.1));
        Assert.NotNull(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
        Assert.Null(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
        Assert.NotNull(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
    }

    [Fact]
    public void Runtime_rules_expire_after_their_ttl_and_respect_caps()
    {
        var kit = new ChaosTestKit(new ChaosOptions { Enabled = true, MaxActiveRules = 2, MaxRate = 0.25, MaxLatency = TimeSpan.FromMilliseconds(200) });
        var now = kit.Time.GetUtcNow();
        ChaosRule Rule(string name, string latency) =>
            ChaosRule.From(new ChaosRuleOptions { Name = name, Scope = "client", Fault = "latency", Latency = latency, Rate = 1.0 }, "runtime", now.AddSeconds(30), out _)!;

        Assert.Null(kit.Controller.AddRuntimeRule(Rule("one", "1s")));
        Assert.Null(kit.Controller.AddRuntimeRule(Rule("two", "50ms")));
        Assert.NotNull(kit.Controller.AddRuntimeRule(Rule("three", "50ms")));

        var clamped = kit.Controller.Rules.Single(r => r.Name == "one");
        Assert.Equal(0.25, clamped.Rate);
        Assert.Equal(TimeSpan.FromMilliseconds(200), clamped.Latency!.Value.Max);

        kit.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Empty(kit.Controller.Rules);
        Assert.Null(kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true));
    }

    [Fact]
    public void Injections_are_counted_journaled_and_annotated()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(Http500));
        var rule = kit.Controller.Match(ChaosScope.Client, "test", null, "eth_call", _ => true)!;
        kit.Controller.RecordInjection(rule, "test", "eth_call", null, kit.Call);

        Assert.Equal(1, kit.Injections("r500", "http_500"));
        var entry = Assert.Single(kit.Journal.Entries);
        Assert.Equal("chaos", entry.Kind);
        Assert.Equal("http_500", entry.Reason);
        Assert.Contains(kit.Call.Annotations(), a => a.Key == "X-RpcShield-Chaos" && a.Value == "r500=http_500");
    }

    [Fact]
    public void Ws_disconnect_hook_matches_scope_and_target()
    {
        var rule = new ChaosRuleOptions { Name = "drop", Scope = "upstream", Fault = "ws_disconnect", Targets = ["a"] };
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(rule));
        Assert.True(kit.Controller.ShouldDisconnect(ChaosScope.Upstream, "test", "a"));
        Assert.False(kit.Controller.ShouldDisconnect(ChaosScope.Upstream, "test", "b"));
        Assert.False(kit.Controller.ShouldDisconnect(ChaosScope.Client, "test", null));
        Assert.Equal(1, kit.Injections("drop", "ws_disconnect"));
    }
}
