namespace RpcShield.Routing.Degradation;

/// <summary>How much a chain can be trusted right now (`rpcshield_mode`: 0 full, 1 degraded, 2 minimal).</summary>
internal enum ChainMode
{
    Full = 0,
    Degraded = 1,
    Minimal = 2,
}

internal static class ChainModeNames
{
    public static string Name(this ChainMode mode) => mode switch
    {
        ChainMode.Full => "full",
        ChainMode.Degraded => "degraded",
        _ => "minimal",
    };
}

/// <summary>One mode change and its cause (logged, counted, journaled, shown in /status).</summary>
internal readonly record struct ModeTransition(ChainMode From, ChainMode To, string Cause, DateTimeOffset At);
