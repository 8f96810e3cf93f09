using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.Simmy;
using Polly.Simmy.Latency;
using Polly.Simmy.Outcomes;
using RpcShield.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Routing;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Features.Fanout;

/// <summary>The builder-scope seam chaos plugs into: a Polly pipeline per builder, inside its timeout.</summary>
public sealed class BuilderPipelineTests
{
    private sealed class InjectingContributor : IBuilderStrategyContributor
    {
        public ConcurrentQueue<string> SeenMethods { get; } = new();

        public int Order => 100;

        public void Contribute(ResiliencePipelineBuilder<BuilderOutcome> builder, BuilderEndpoint endpoint)
        {
            if (endpoint.Name == "rejecting")
            {
                builder.AddChaosOutcome(new ChaosOutcomeStrategyOptions<BuilderOutcome>
                {
                    InjectionRate = 1,
                    OutcomeGenerator = args =>
                    {
                        SeenMethods.Enqueue(args.Context.Properties.GetValue(BuilderAttemptKeys.Method, "?"));
                        return ValueTask.FromResult<Outcome<BuilderOutcome>?>(Outcome.FromResult(
                            BuilderOutcome.Local(endpoint.Name, BuilderOutcomeKind.Error, "chaos: builder_reject")));
                    },
                });
            }
            else if (endpoint.Name == "stalling")
            {
                builder.AddChaosLatency(new ChaosLatencyStrategyOptions { InjectionRate = 1, Latency = TimeSpan.FromSeconds(20) });
            }
        }
    }

    private sealed class CapturingJournal : IFailureJournal
    {
        public ConcurrentQueue<JournalEntry> Entries { get; } = new();

        public void Record(JournalEntry entry) => Entries.Enqueue(entry);
    }

    [Fact]
    public async Task Contributed_strategies_reject_or_stall_a_builder_and_every_outcome_is_journaled_with_the_builders_own_answer()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var good = await FakeBuilder.StartAsync();
        await using var rejecting = await FakeBuilder.StartAsync();
        await using var stalling = await FakeBuilder.StartAsync();
        var contributor = new InjectingContributor();
        var journal = new CapturingJournal();
        await using var proxy = await ProxyUnderTest.StartAsync(
            FanoutTests.Config(anvil.Url, [$"{{ name: good, url: \"{good.Url}\" }}", $"{{ name: rejecting, url: \"{rejecting.Url}\" }}", $"{{ name: stalling, url: \"{stalling.Url}\", timeout: 300ms }}"], grace: "2s"),
            FanoutTests.Env,
            services: s =>
            {
                s.AddSingleton<IBuilderStrategyContributor>(contributor);
                s.AddSingleton<IFailureJournal>(journal);
            });
        await FanoutTests.WaitForHeadAsync(proxy);

        var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1);
        using var response = await proxy.Client.PostAsync("/", FailoverTests.Json(FanoutTests.Bundle([tx], await anvil.BlockNumberAsync() + 2, 1)));
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        var bundleHash = json.GetProperty("result").GetProperty("bundleHash").GetString();
        Assert.Equal(["good=ok", "rejecting=error", "stalling=timeout"], response.Headers.GetValues(FanoutHandler.BuildersHeader).Single().Split(',').Order());
        Assert.Equal("eth_sendBundle", Assert.Single(contributor.SeenMethods));
        Assert.Empty(rejecting.Requests);
        Assert.Empty(stalling.Requests);

        var entries = journal.Entries.Where(e => e.Kind == "builder").ToDictionary(e => e.Builder!);
        Assert.Equal("ok", entries["good"].Reason);
        Assert.Equal(bundleHash, entries["good"].BundleHash);
        // The builder's own answer (its own bundle id) is kept for the journal.
        Assert.Contains("\"bundleHash\"", entries["good"].Note, StringComparison.Ordinal);
        Assert.DoesNotContain(bundleHash!, entries["good"].Note, StringComparison.Ordinal);
        Assert.Equal("error: chaos: builder_reject", entries["rejecting"].Reason);
        Assert.Equal("timeout", entries["stalling"].Reason);
        // The report counts successes and failure kinds from the outcome column.
        Assert.Equal("ok", entries["good"].Outcome);
        Assert.Equal("error", entries["rejecting"].Outcome);
        Assert.Equal("timeout", entries["stalling"].Outcome);
        Assert.All(entries.Values, e => Assert.Equal("test", e.Chain));
    }
}
