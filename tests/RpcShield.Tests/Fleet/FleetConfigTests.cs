using RpcShield.Upstreams.Budgets;
using RpcShield.Configuration;
using RpcShield.Journal;
using RpcShield.Hosting.Security;

namespace RpcShield.Tests.Fleet;

/// <summary>The fleet keys: `journal.postgres`, `journal.instance`, `redis`, `share_budget`; their secrets never shown.</summary>
public sealed class FleetConfigTests
{
    private const string PgPassword = "pgpass-83d1f0";
    private const string RedisPassword = "redispass-41c9aa";

    private static ConfigLoadResult Load(string top, string upstream = "", string builder = "") => ConfigLoader.LoadText($$"""
        {{top}}
        chains:
          - name: test
            chain_id: 1
            upstreams:
              - { name: a, url: "http://127.0.0.1:9"{{upstream}} }
            builders:
              - { name: b, url: "http://127.0.0.1:10"{{builder}} }
        """, name => name switch { "PGPASSWORD" => PgPassword, "REDISPASS" => RedisPassword, _ => null });

    [Fact]
    public void A_fleet_config_with_a_postgres_journal_redis_and_shared_budgets_is_valid()
    {
        var result = Load(
            """
            journal: { postgres: "Host=db.internal;Port=5432;Database=rpcshield;Username=rpcshield;Password=${PGPASSWORD}", instance: bot-7 }
            redis: { url: "redis://:${REDISPASS}@127.0.0.1:6379/2", expected_instances: 4 }
            """,
            ", max_rps: 50, share_budget: true",
            ", max_rps: 5, share_budget: true");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal("bot-7", JournalServiceCollectionExtensions.InstanceName(result.Options!, 8545));
        Assert.True(RedisEndpoint.TryParse(result.Options!.Redis!.Url, out var redis, out _));
        Assert.Equal(RedisPassword, redis!.Password);
        Assert.Equal(2, redis.DefaultDatabase);
        Assert.False(redis.AbortOnConnectFail);

        // Connection-string and Redis passwords are scrubbed like any other configured secret.
        var scrubber = new SecretScrubber(result.Options!);
        Assert.Equal("auth *** and ***", scrubber.Scrub($"auth {PgPassword} and {RedisPassword}"));
    }

    [Fact]
    public void The_default_instance_name_is_the_host_name_and_listen_port()
    {
        var result = Load("server: { listen: http://127.0.0.1:8601 }");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal($"{Environment.MachineName}:8601", JournalServiceCollectionExtensions.InstanceName(result.Options!, null));
        Assert.Equal($"{Environment.MachineName}:9000", JournalServiceCollectionExtensions.InstanceName(result.Options!, 9000));
    }

    [Theory]
    [InlineData("journal: { postgres: \"Hots=db;Password=pgpass-83d1f0\" }", "", "", "journal.postgres", "not a valid PostgreSQL connection string")]
    [InlineData("journal: { postgres: \"Database=x;Password=pgpass-83d1f0\" }", "", "", "journal.postgres", "needs Host")]
    [InlineData("journal: { instance: \"\" }", "", "", "journal.instance", "printable")]
    [InlineData("redis: { url: \"http://:redispass-41c9aa@127.0.0.1:6379\" }", "", "", "redis.url", "redis://")]
    [InlineData("redis: { url: \"redis://127.0.0.1:6379/x\" }", "", "", "redis.url", "database number")]
    [InlineData("redis: { url: \"redis://127.0.0.1\", expected_instances: 0 }", "", "", "redis.expected_instances", "at least 1")]
    [InlineData("", ", max_rps: 5, share_budget: true", "", "chains[0].upstreams[0].share_budget", "redis section")]
    [InlineData("redis: { url: \"redis://127.0.0.1\" }", ", share_budget: true", "", "chains[0].upstreams[0].share_budget", "positive max_rps")]
    [InlineData("", "", ", max_rps: 5, share_budget: true", "chains[0].builders[0].share_budget", "redis section")]
    public void Bad_fleet_keys_are_config_errors_that_never_show_the_secret(string top, string upstream, string builder, string path, string fragment)
    {
        var result = Load(top, upstream, builder);
        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors, e => e.Path == path);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(PgPassword, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(RedisPassword, error.Message, StringComparison.Ordinal);
    }
}
