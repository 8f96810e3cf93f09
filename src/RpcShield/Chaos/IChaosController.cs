namespace RpcShield.Chaos;

/// <summary>
/// The chaos control plane shared by every injection point (client gate, upstream attempt
/// pipeline, builder seam, WebSocket hook) and the admin API. Nothing injects unless chaos is
/// armed (`chaos.enabled: true` or armed at runtime) and not halted.
/// </summary>
internal interface IChaosController
{
    /// <summary>True when rules may inject (enabled or runtime-armed, and not halted).</summary>
    bool IsArmed { get; }

    /// <summary>True after <see cref="Halt"/> until <see cref="Resume"/> or <see cref="Arm"/>.</summary>
    bool IsHalted { get; }

    /// <summary>Cancelled by <see cref="Halt"/>: injected hangs in progress end at once (the request then proceeds untouched).</summary>
    CancellationToken HaltToken { get; }

    /// <summary>Arms chaos at runtime (even when `chaos.enabled` is false) and clears a halt.</summary>
    void Arm();

    /// <summary>Kill switch: stops every injection at once, including `chaos.enabled` rules, and disarms.</summary>
    void Halt();

    /// <summary>Drops runtime arming and clears a halt: back to what `chaos.enabled` says.</summary>
    void Disarm();

    /// <summary>Clears a halt: back to what `chaos.enabled` says.</summary>
    void Resume();

    /// <summary>Static and (unexpired) runtime rules.</summary>
    IReadOnlyList<ChaosRule> Rules { get; }

    /// <summary>Adds a runtime rule (clamped to the caps). Returns an error text when refused.</summary>
    string? AddRuntimeRule(ChaosRule rule);

    bool RemoveRuntimeRule(string name);

    /// <summary>
    /// First armed rule of <paramref name="scope"/> that matches chain/target/method, passes
    /// <paramref name="filter"/> and wins its rate roll (injected random source). Null when none.
    /// <paramref name="extra"/> is a per-request (header) rule checked first.
    /// </summary>
    ChaosRule? Match(ChaosScope scope, string chain, string? target, string method, Func<ChaosRule, bool> filter, ChaosRule? extra = null);

    /// <summary>Counts and journals one injection, and annotates <paramref name="call"/> (the client call it touched, when there is one).</summary>
    void RecordInjection(ChaosRule rule, string chain, string method, string? target, JsonRpc.RpcCall? call);

    /// <summary>
    /// WebSocket hook. The WebSocket layer calls this for each client message (client scope,
    /// <paramref name="upstream"/> null) and for each upstream message it relays (upstream scope,
    /// with the upstream's name); when true it closes that socket (client: abort the client socket;
    /// upstream: drop the upstream connection so the subscription hub re-subscribes elsewhere).
    /// The injection is already recorded when this returns true.
    /// </summary>
    bool ShouldDisconnect(ChaosScope scope, string chain, string? upstream, string method = "eth_subscription");

    /// <summary>Uniform [0,1) from the injected random source.</summary>
    double NextDouble();
}

/// <summary>Random source for rate rolls and latency picks (tests inject a fixed sequence).</summary>
internal interface IChaosRandom
{
    double NextDouble();
}

internal sealed class SystemChaosRandom : IChaosRandom
{
    public double NextDouble() => Random.Shared.NextDouble();
}
