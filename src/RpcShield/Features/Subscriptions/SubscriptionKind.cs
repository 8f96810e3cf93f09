namespace RpcShield.Features.Subscriptions;

/// <summary>The `eth_subscribe` kinds RpcShield keeps alive across upstreams.</summary>
internal enum SubscriptionKind
{
    NewHeads,
    Logs,
    NewPendingTransactions,
}

internal static class SubscriptionKinds
{
    public static bool TryParse(string? value, out SubscriptionKind kind)
    {
        switch (value)
        {
            case "newHeads":
                kind = SubscriptionKind.NewHeads;
                return true;
            case "logs":
                kind = SubscriptionKind.Logs;
                return true;
            case "newPendingTransactions":
                kind = SubscriptionKind.NewPendingTransactions;
                return true;
            default:
                kind = default;
                return false;
        }
    }

    public static string Wire(SubscriptionKind kind) => kind switch
    {
        SubscriptionKind.NewHeads => "newHeads",
        SubscriptionKind.Logs => "logs",
        _ => "newPendingTransactions",
    };
}
