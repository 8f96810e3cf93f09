using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RpcShield.Configuration;
using RpcShield.Sandbox;

namespace RpcShield.Tests.Sandbox;

public sealed class SandboxConfigTests
{
    [Fact]
    public void The_repository_proxy_yaml_is_valid_and_points_at_its_own_sandbox()
    {
        var result = ConfigLoader.LoadFile(Path.Combine(SharedPaths.RepositoryRoot, "proxy.yaml"), _ => null);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var options = result.Options!;
        var sandbox = Assert.IsType<SandboxOptions>(options.Sandbox);
        var chain = options.Chains[0];
        Assert.Equal(3, sandbox.Nodes.Count);
        Assert.Equal(3, sandbox.Builders.Count);
        Assert.Equal(sandbox.Nodes.Select(n => n.Port).Order(), chain.Upstreams.Select(u => new Uri(u.Url).Port).Order());
        // Sandbox nodes serve WebSocket on their HTTP port (relayed to anvil's): subscriptions go over it.
        Assert.All(chain.Upstreams, u => Assert.Equal(new Uri(u.Url).Port, new Uri(u.WsUrl!).Port));
        Assert.All(chain.Upstreams, u => Assert.Equal("ws", new Uri(u.WsUrl!).Scheme));
        foreach (var builder in chain.Builders)
        {
            var sandboxBuilder = Assert.Single(sandbox.Builders, b => b.Port == new Uri(builder.Url).Port);
            Assert.Equal(sandboxBuilder.Coinbase, builder.Coinbase, ignoreCase: true);
            // Out of the box nothing needs a key: no builder demands or gets a signature.
            Assert.False(sandboxBuilder.RequireSignature);
            Assert.False(RpcShield.Features.Fanout.BuilderSettings.Resolve(builder).Sign);
        }
    }

    [Fact]
    public void Sandbox_mistakes_are_reported_with_their_key_paths()
    {
        const string yaml = """
            server: { listen: "http://127.0.0.1:18547" }
            chains:
              - name: main
                chain_id: 31337
                upstreams: [ { name: a, url: "http://127.0.0.1:18545" } ]
            sandbox:
              slot: 50ms
              anvil_port: 18500
              nodes:
                - { name: a, port: 18545 }
                - { name: b, port: 18545 }
                - { name: c, port: 18547 }
              builders:
                - { name: x, port: 18500, weight: -1, coinbase: "0x1234" }
            """;
        var result = ConfigLoader.LoadText(yaml, _ => null);
        var paths = result.Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains(paths, e => e.Contains("sandbox.slot", StringComparison.Ordinal));
        Assert.Contains(paths, e => e.Contains("sandbox.nodes[1].port", StringComparison.Ordinal));
        Assert.Contains(paths, e => e.Contains("sandbox.builders[0].port", StringComparison.Ordinal));
        Assert.Contains(paths, e => e.Contains("sandbox.nodes[2].port", StringComparison.Ordinal) && e.Contains("server.listen", StringComparison.Ordinal));
        Assert.Contains(paths, e => e.Contains("sandbox.builders[0].weight", StringComparison.Ordinal));
        Assert.Contains(paths, e => e.Contains("sandbox.builders[0].coinbase", StringComparison.Ordinal));
    }

    [Fact]
    public void A_lagging_node_pins_latest_tags_and_answers_for_blocks_it_has_not_seen()
    {
        var pinned = SandboxNode.LagRewriter.Rewrite(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"x","method":"eth_getBalance","params":["0xabc","latest"]}"""), 10);
        Assert.Null(pinned.Reply);
        Assert.Contains("\"0xa\"", Encoding.UTF8.GetString(pinned.Request!), StringComparison.Ordinal);

        var head = SandboxNode.LagRewriter.Rewrite(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]}"""), 10);
        Assert.Equal("""{"jsonrpc":"2.0","id":7,"result":"0xa"}""", Encoding.UTF8.GetString(head.Reply!));

        var future = SandboxNode.LagRewriter.Rewrite(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xb",false]}"""), 10);
        Assert.Equal("""{"jsonrpc":"2.0","id":1,"result":null}""", Encoding.UTF8.GetString(future.Reply!));

        var garbage = Encoding.UTF8.GetBytes("{nope");
        Assert.Same(garbage, SandboxNode.LagRewriter.Rewrite(garbage, 10).Request);
    }

    [Fact]
    public void The_slot_winner_is_drawn_by_weight_from_the_injected_random_source()
    {
        SandboxBuilder Builder(string name, double weight) => new(new SandboxBuilderOptions { Name = name, Weight = weight, Coinbase = "0x" + new string('1', 40) }, () => 0);
        var builders = new[] { Builder("a", 0), Builder("b", 1), Builder("c", 0) };
        var producer = new SlotProducer(null!, builders, TimeProvider.System, new Random(1), NullLogger.Instance);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("b", producer.PickWinner()!.Name);
        }

        var none = new SlotProducer(null!, [Builder("z", 0)], TimeProvider.System, new Random(1), NullLogger.Instance);
        Assert.Null(none.PickWinner());
    }
}

public sealed class SandboxCommandTests
{
    [Fact]
    public async Task The_sandbox_verb_refuses_a_config_without_a_sandbox_section_or_with_errors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rpcshield-sandbox-{Guid.NewGuid():N}.yaml");
        try
        {
            await File.WriteAllTextAsync(path, """
                chains:
                  - name: main
                    chain_id: 31337
                    upstreams: [ { name: a, url: "http://127.0.0.1:18545" } ]
                """);
            var errors = new StringWriter();
            Assert.Equal(1, await SandboxCommand.RunAsync(new RpcShield.Hosting.Cli.CommandLine(["sandbox", "--config", path]), errors));
            Assert.Contains("no `sandbox:` section", errors.ToString(), StringComparison.Ordinal);

            await File.AppendAllTextAsync(path, "\nsandbox: { slot: 10ms }\n");
            errors = new StringWriter();
            Assert.Equal(1, await SandboxCommand.RunAsync(new RpcShield.Hosting.Cli.CommandLine(["sandbox", "--config", path]), errors));
            Assert.Contains("sandbox.slot", errors.ToString(), StringComparison.Ordinal);
            Assert.Contains("refusing to start", errors.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
