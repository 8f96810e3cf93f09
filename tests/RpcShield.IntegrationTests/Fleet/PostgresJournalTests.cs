using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using RpcShield.Hosting.Cli;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Fleet;

[CollectionDefinition(nameof(PostgresFleet), DisableParallelization = true)]
public sealed class PostgresFleet : ICollectionFixture<PostgresCluster>;

/// <summary>
/// `journal.postgres`: a fleet of RpcShield instances writing one journal in a real PostgreSQL
/// (a throwaway cluster started by <see cref="PostgresCluster"/>), the fleet report, outages and config errors.
/// </summary>
[Collection(nameof(PostgresFleet))]
public sealed class PostgresJournalTests(PostgresCluster cluster)
{
    private const string Address = "0x0000000000000000000000000000000000000001";

    /// <summary>Two fake upstreams: eth_getBalance goes only to `bad` (HTTP 503: journaled failures), eth_getTransactionCount only to `good`.</summary>
    private static string Config(string connectionString, string? instance, string good, string bad, string extra = "")
    {
        // The password comes from the environment, as it would in production.
        var withoutPassword = connectionString.Replace($"Password={PostgresCluster.Password}", "Password=${PG_TEST_PASSWORD}", StringComparison.Ordinal);
        var instanceKey = instance is null ? "" : $", instance: {instance}";
        return $$"""
            server: { listen: http://127.0.0.1:0 }
            journal: { postgres: "{{withoutPassword}}"{{instanceKey}}, stats_interval: 1s{{extra}} }
            chains:
              - name: test
                chain_id: 31337
                upstreams:
                  - { name: good, url: "{{good}}" }
                  - { name: bad, url: "{{bad}}" }
                routes:
                  - { methods: ["eth_getBalance"], upstreams: [bad] }
                  - { methods: ["eth_getTransactionCount"], upstreams: [good] }
                routing:
                  health: { interval: 500ms, timeout: 1s }
                  retries: 0
                  circuit_breaker: { failure_ratio: 0.99, min_requests: 100000 }
            """;
    }

    private static string? Environment(string name) => name == "PG_TEST_PASSWORD" ? PostgresCluster.Password : null;

    private static Task<Rpc.Reply> FailingAsync(ProxyUnderTest proxy) => Rpc.CallAsync(proxy, "eth_getBalance", $"[\"{Address}\",\"latest\"]");

    private static Task<Rpc.Reply> ServedAsync(ProxyUnderTest proxy) => Rpc.CallAsync(proxy, "eth_getTransactionCount", $"[\"{Address}\",\"latest\"]");

    private static Task<long> FailuresAsync(string connectionString, string instance) =>
        PostgresCluster.CountAsync(connectionString, $"SELECT COUNT(*) FROM journal WHERE kind = 'failed_attempt' AND upstream = 'bad' AND instance = '{instance}'");

    [PostgresFact]
    public async Task Two_instances_write_one_journal_and_the_report_shows_both_instances_failures()
    {
        var database = await cluster.CreateDatabaseAsync("fleet_two");
        await using var good = await FakeNode.StartAsync(failing: false);
        await using var bad = await FakeNode.StartAsync(failing: true);
        await using (var a = await ProxyUnderTest.StartAsync(Config(database, "bot-a", good.Url, bad.Url), Environment))
        await using (var b = await ProxyUnderTest.StartAsync(Config(database, "bot-b", good.Url, bad.Url), Environment))
        {
            await a.WaitRoutableAsync(2);
            await b.WaitRoutableAsync(2);
            for (var i = 0; i < 3; i++)
            {
                Assert.True((await FailingAsync(a)).IsError);
                Assert.False((await ServedAsync(a)).IsError);
            }

            for (var i = 0; i < 5; i++)
            {
                Assert.True((await FailingAsync(b)).IsError);
            }

            await Rpc.WaitUntilAsync(async () => await FailuresAsync(database, "bot-a") >= 3 && await FailuresAsync(database, "bot-b") >= 5, "both instances' failures in PostgreSQL");
            var status = await a.Client.GetFromJsonAsync<JsonElement>("/status");
            Assert.Equal("up", status.GetProperty("journal").GetProperty("state").GetString());
        }

        // The report reads the whole fleet's journal and breaks it down by instance.
        var output = new StringWriter();
        var errors = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(new CommandLine(["report", "--postgres", database, "--format", "json"]), output, errors));
        var report = JsonDocument.Parse(output.ToString()).RootElement;
        var instances = report.GetProperty("instances").EnumerateArray().ToDictionary(i => i.GetProperty("instance").GetString()!);
        Assert.Equal(3, instances["bot-a"].GetProperty("upstream_failures").GetInt64());
        Assert.Equal(5, instances["bot-b"].GetProperty("upstream_failures").GetInt64());
        Assert.Equal("bad", instances["bot-b"].GetProperty("upstreams")[0].GetProperty("name").GetString());
        Assert.Equal(8, report.GetProperty("upstream_failures").EnumerateArray().Single(u => u.GetProperty("name").GetString() == "bad").GetProperty("failures").GetInt64());
        Assert.DoesNotContain(PostgresCluster.Password, output.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("postgres://127.0.0.1:", report.GetProperty("journal").GetString(), StringComparison.Ordinal);

        // `report --config` resolves only the journal section: the chains' unset ${VAR}s do not matter.
        var config = Path.Combine(Path.GetTempPath(), $"rpcshield-report-{Guid.NewGuid():N}.yaml");
        var variable = $"RPCSHIELD_TEST_PG_{Guid.NewGuid():N}";
        System.Environment.SetEnvironmentVariable(variable, database);
        try
        {
            await File.WriteAllTextAsync(config, $$"""
                journal: { postgres: "${{{variable}}}" }
                chains:
                  - name: test
                    chain_id: 31337
                    upstreams:
                      - { name: provider, url: "https://provider.invalid/v2/${RPCSHIELD_TEST_UNSET_PROVIDER_KEY}" }
                """);
            var text = new StringWriter();
            Assert.Equal(0, ReportCommand.Run(new CommandLine(["report", "--config", config]), text, errors));
            Assert.Contains("PER INSTANCE (2 instance(s)", text.ToString(), StringComparison.Ordinal);
            Assert.Contains("bot-a", text.ToString(), StringComparison.Ordinal);
            Assert.Contains("bot-b", text.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(PostgresCluster.Password, text.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            System.Environment.SetEnvironmentVariable(variable, null);
            File.Delete(config);
        }
    }

    [PostgresFact]
    public async Task A_stopped_database_loses_no_request_and_the_journal_resumes_writing_when_it_is_back()
    {
        var database = await cluster.CreateDatabaseAsync("fleet_outage");
        await using var good = await FakeNode.StartAsync(failing: false);
        await using var bad = await FakeNode.StartAsync(failing: true);
        await using var proxy = await ProxyUnderTest.StartAsync(Config(database, "bot-outage", good.Url, bad.Url), Environment);
        await proxy.WaitRoutableAsync(2);
        Assert.True((await FailingAsync(proxy)).IsError);
        await Rpc.WaitUntilAsync(async () => await FailuresAsync(database, "bot-outage") == 1, "the first row in PostgreSQL");

        await cluster.StopAsync();
        try
        {
            var slowest = 0.0;
            for (var i = 0; i < 20; i++)
            {
                var served = await ServedAsync(proxy);
                Assert.False(served.IsError, served.Body.ToString());
                var failed = await FailingAsync(proxy);
                Assert.Equal(-32090, failed.Body.GetProperty("error").GetProperty("code").GetInt32());
                slowest = Math.Max(slowest, Math.Max(served.Milliseconds, failed.Milliseconds));
            }

            // Nothing on the request path waits for the database (generous bound for a loaded runner).
            Assert.True(slowest < 3000, $"a request took {slowest} ms with the database down");
            await Rpc.WaitUntilAsync(async () => (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("journal").GetProperty("state").GetString() == "down", "the journal to report the database down");
        }
        finally
        {
            await cluster.StartAsync();
        }

        // The 20 failures of the outage were held in the queue and are written once the database is back.
        await Rpc.WaitUntilAsync(async () => await FailuresAsync(database, "bot-outage") == 21, "the held rows to be written after the restart", timeoutMs: 60_000,
            diagnostics: async () => $"{await FailuresAsync(database, "bot-outage")} rows");
        await Rpc.WaitUntilAsync(async () => (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("journal").GetProperty("state").GetString() == "up", "the journal to report up again");
        var metrics = await proxy.Client.GetStringAsync("/metrics");
        Assert.Contains("\nrpcshield_journal_dropped_total 0\n", metrics, StringComparison.Ordinal);
    }

    [PostgresFact]
    public async Task A_database_unreachable_at_start_does_not_stop_serving()
    {
        var unreachable = $"Host=127.0.0.1;Port={PostgresCluster.FreePort()};Database=nowhere;Username=postgres;Password={PostgresCluster.Password}";
        await using var good = await FakeNode.StartAsync(failing: false);
        await using var bad = await FakeNode.StartAsync(failing: true);
        var watch = Stopwatch.StartNew();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(unreachable, null, good.Url, bad.Url), Environment);
        await proxy.WaitRoutableAsync(2);
        Assert.False((await ServedAsync(proxy)).IsError);
        Assert.True((await FailingAsync(proxy)).IsError);
        var journal = (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("journal");
        Assert.Equal("down", journal.GetProperty("state").GetString());
        Assert.Contains("unreachable", journal.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresCluster.Password, journal.ToString(), StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"start and first requests took {watch.Elapsed}");
    }

    [PostgresFact]
    public async Task A_bad_connection_string_or_a_schema_that_cannot_be_migrated_refuses_to_start()
    {
        var invalid = new StringWriter();
        var file = Path.Combine(Path.GetTempPath(), $"rpcshield-badpg-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, Config($"Hots=127.0.0.1;Password={PostgresCluster.Password}", null, "http://127.0.0.1:9", "http://127.0.0.1:10"));
        try
        {
            Assert.Equal(1, RunCommands.CheckConfig(new CommandLine(["check-config", "--config", file]), invalid));
        }
        finally
        {
            File.Delete(file);
        }

        Assert.Contains("journal.postgres", invalid.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresCluster.Password, invalid.ToString(), StringComparison.Ordinal);

        await using var good = await FakeNode.StartAsync(failing: false);
        // A foreign table called journal, and a schema written by a newer RpcShield.
        foreach (var (name, sql) in new[]
        {
            ("fleet_foreign", "CREATE TABLE journal (x integer)"),
            ("fleet_newer", "CREATE TABLE rpcshield_schema (version integer NOT NULL); INSERT INTO rpcshield_schema VALUES (99)"),
        })
        {
            var database = await cluster.CreateDatabaseAsync(name, sql);
            var error = await Assert.ThrowsAsync<JournalUnavailableException>(() => ProxyUnderTest.StartAsync(Config(database, null, good.Url, good.Url), Environment));
            Assert.True(error.RefusesStart);
            Assert.Contains("refusing to start", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(PostgresCluster.Password, error.Message, StringComparison.Ordinal);
        }
    }

    [PostgresFact]
    public async Task Retention_on_a_shared_database_is_pruned_by_one_instance_at_a_time()
    {
        var connectionString = await cluster.CreateDatabaseAsync("fleet_retention");
        var store = new PostgresJournalDatabase(connectionString);
        store.Initialize();
        var old = DateTimeOffset.UtcNow.AddDays(-40);
        using (var connection = store.Open())
        {
            JournalRows.InsertAll(connection, Enumerable.Range(0, 5).Select(i => new JournalEntry { Kind = JournalKinds.FailedAttempt, Timestamp = old, Upstream = "u" }), "bot-x");
            JournalRows.InsertAll(connection, [new JournalEntry { Kind = JournalKinds.FailedAttempt, Upstream = "u" }], "bot-x");
        }

        var cutoff = DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeMilliseconds();
        await using (var other = new Npgsql.NpgsqlConnection(connectionString))
        {
            // Another instance is pruning: this one skips (never waits).
            await other.OpenAsync();
            await using (var take = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_lock({PostgresJournalDatabase.RetentionLock})", other))
            {
                await take.ExecuteNonQueryAsync();
            }

            using (var connection = store.Open())
            {
                Assert.Equal(-1, store.DeleteOlderThan(connection, cutoff));
            }

            await using var release = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresJournalDatabase.RetentionLock})", other);
            await release.ExecuteNonQueryAsync();
        }

        using (var connection = store.Open())
        {
            Assert.Equal(5, store.DeleteOlderThan(connection, cutoff));
        }

        Assert.Equal(1, await PostgresCluster.CountAsync(connectionString, "SELECT COUNT(*) FROM journal"));
        // Migrating again is a no-op (a second instance starting).
        store.Initialize();
        Assert.Equal(JournalSchema.Version, await PostgresCluster.CountAsync(connectionString, "SELECT MAX(version) FROM rpcshield_schema"));
    }
}
