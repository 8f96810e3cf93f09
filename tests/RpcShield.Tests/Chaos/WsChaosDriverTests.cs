using RpcShield.Chaos;
using RpcShield.Configuration;

namespace RpcShield.Tests.Chaos;

public sealed class WsChaosDriverTests
{
    private sealed class FakeSockets(int sockets) : IWsDisconnectTarget
    {
        public List<string> Calls { get; } = [];

        public int DisconnectClients(string chain)
        {
            Calls.Add($"clients:{chain}");
            return sockets;
        }

        public int DisconnectUpstreams(string chain, string? upstream)
        {
            Calls.Add($"upstream:{chain}:{upstream}");
            return sockets;
        }
    }

    [Fact]
    public void Client_and_upstream_rules_drop_the_matching_sockets_and_count_only_real_drops()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(
            new ChaosRuleOptions { Name = "bots", Scope = "client", Fault = "ws_disconnect" },
            new ChaosRuleOptions { Name = "nodes", Scope = "upstream", Fault = "ws_disconnect", Targets = ["a"] }));
        var sockets = new FakeSockets(2);
        new WsChaosDriver(kit.Controller, kit.Config, [sockets], kit.Time).RunOnce();

        Assert.Equal(["clients:test", "upstream:test:a"], sockets.Calls);
        Assert.Equal(1, kit.Injections("bots", "ws_disconnect"));
        Assert.Equal(1, kit.Injections("nodes", "ws_disconnect"));

        var idle = new FakeSockets(0);
        new WsChaosDriver(kit.Controller, kit.Config, [idle], kit.Time).RunOnce();
        Assert.Equal(1, kit.Injections("bots", "ws_disconnect"));
    }

    [Fact]
    public async Task The_driver_ticks_every_second_and_stops_when_halted()
    {
        var kit = new ChaosTestKit(ChaosTestKit.Enabled(new ChaosRuleOptions { Name = "bots", Scope = "client", Fault = "ws_disconnect" }));
        var sockets = new FakeSockets(1);
        using var driver = new WsChaosDriver(kit.Controller, kit.Config, [sockets], kit.Time);
        await driver.StartAsync(CancellationToken.None);

        // The service starts its timer on a background thread: keep ticking until it is running.
        await WaitForAsync(() => sockets.Calls.Count >= 1, () => kit.Time.Advance(WsChaosDriver.Tick));
        kit.Controller.Halt();
        var before = sockets.Calls.Count;
        kit.Time.Advance(WsChaosDriver.Tick);
        kit.Time.Advance(WsChaosDriver.Tick);
        await Task.Delay(50);
        Assert.Equal(before, sockets.Calls.Count);
        await driver.StopAsync(CancellationToken.None);
    }

    private static async Task WaitForAsync(Func<bool> condition, Action step)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            step();
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
