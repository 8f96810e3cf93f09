using RpcShield.Configuration;

namespace RpcShield.Features.Subscriptions;

/// <summary>Semantic checks of `server.websocket` and `routing.subscriptions`.</summary>
internal static class SubscriptionOptionsValidator
{
    public static void ValidateServer(ServerWebSocketOptions options, string path, Action<string, string> error)
    {
        if (options.MaxSubscriptionsPerConnection < 1)
        {
            error($"{path}.max_subscriptions_per_connection", "must be at least 1");
        }

        if (options.MaxSubscriptions < 1)
        {
            error($"{path}.max_subscriptions", "must be at least 1");
        }

        if (options.SendQueue < 1)
        {
            error($"{path}.send_queue", "must be at least 1");
        }

        if (options.PingInterval <= TimeSpan.Zero)
        {
            error($"{path}.ping_interval", "must be positive");
        }

        if (options.PingTimeout <= TimeSpan.Zero)
        {
            error($"{path}.ping_timeout", "must be positive");
        }
    }

    public static void ValidateRouting(SubscriptionOptions options, string path, Action<string, string> error)
    {
        if (options.BlockTime <= TimeSpan.Zero)
        {
            error($"{path}.block_time", "must be positive");
        }

        if (options.StallAfter is < 1 or > 100 || double.IsNaN(options.StallAfter))
        {
            error($"{path}.stall_after", "must be between 1 and 100 (a multiple of block_time)");
        }

        if (options.BackfillMarginBlocks is < 0 or > 1000)
        {
            error($"{path}.backfill_margin_blocks", "must be between 0 and 1000");
        }

        if (options.MaxGapBlocks is < 1 or > 10_000)
        {
            error($"{path}.max_gap_blocks", "must be between 1 and 10000");
        }
    }
}
