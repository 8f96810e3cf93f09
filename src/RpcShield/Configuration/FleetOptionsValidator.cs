namespace RpcShield.Configuration;

/// <summary>Semantic checks of the fleet keys: `journal.postgres`, `journal.instance`, `redis` and `share_budget`.</summary>
internal static class FleetOptionsValidator
{
    public static void Validate(ProxyOptions options, Action<string, string> error)
    {
        if (options.Journal.Postgres is { } postgres && !Journal.PostgresJournalDatabase.TryParse(postgres, out _, out var reason))
        {
            error("journal.postgres", reason);
        }

        if (options.Journal.Instance is { } instance && (instance.Length is 0 or > Journal.JournalLimits.Name || instance.Any(char.IsControl)))
        {
            error("journal.instance", $"must be 1 to {Journal.JournalLimits.Name} printable characters");
        }

        if (options.Redis is { } redis)
        {
            if (!Upstreams.Budgets.RedisEndpoint.TryParse(redis.Url, out _, out var redisError))
            {
                error("redis.url", redisError);
            }

            if (redis.ExpectedInstances < 1)
            {
                error("redis.expected_instances", "must be at least 1");
            }
        }

        for (var c = 0; c < options.Chains.Count; c++)
        {
            var chain = options.Chains[c];
            for (var u = 0; u < chain.Upstreams.Count; u++)
            {
                CheckShared(options, chain.Upstreams[u].ShareBudget, chain.Upstreams[u].MaxRps, $"chains[{c}].upstreams[{u}]", error);
            }

            for (var b = 0; b < chain.Builders.Count; b++)
            {
                // A builder without its own max_rps shares its profile's documented limit (resolved where every profile default is).
                var builder = chain.Builders[b];
                CheckShared(options, builder.ShareBudget, Features.Fanout.BuilderSettings.Resolve(builder).MaxRps, $"chains[{c}].builders[{b}]", error);
            }
        }
    }

    private static void CheckShared(ProxyOptions options, bool shared, double maxRps, string path, Action<string, string> error)
    {
        if (!shared)
        {
            return;
        }

        if (maxRps <= 0)
        {
            error($"{path}.share_budget", "needs a positive max_rps to share");
        }

        if (options.Redis is null)
        {
            error($"{path}.share_budget", "needs a redis section (redis.url) to share the budget through");
        }
    }
}
