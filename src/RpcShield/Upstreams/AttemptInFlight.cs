using Polly;

namespace RpcShield.Upstreams;

/// <summary>
/// An attempt started by <see cref="UpstreamSender.Start"/>. Await <see cref="Outcome"/> (it never
/// throws) and pass the result to <see cref="UpstreamSender.Settle"/>, which takes the attempt by
/// <c>ref</c> and spends its <see cref="Resilience.SettleOnce"/>: Polly's context goes back to its
/// pool and the budget guards are released once, however often it is called.
/// </summary>
internal struct AttemptInFlight
{
    private Resilience.SettleOnce _ticket;

    internal AttemptInFlight(Upstream? upstream, ValueTask<Outcome<AttemptOutcome>> outcome, ResilienceContext? context, bool plain, CancellationToken cancellation)
    {
        Upstream = upstream;
        Outcome = outcome;
        Context = context;
        Plain = plain;
        Cancellation = cancellation;
        _ticket = upstream is null ? default : Resilience.SettleOnce.Begun();
    }

    /// <summary>True the first time only for an admitted attempt: it is settled now.</summary>
    internal bool TrySettle() => _ticket.TryTake();

    public ValueTask<Outcome<AttemptOutcome>> Outcome { get; }

    /// <summary>Null when there is nothing to settle (see <see cref="NothingToSettle(AttemptOutcome)"/>).</summary>
    internal Upstream? Upstream { get; }

    /// <summary>Polly's context (null when the upstream has no strategies).</summary>
    internal ResilienceContext? Context { get; }

    /// <summary>Sent with chaos disarmed: the context came from <see cref="AttemptContextPool"/> and carries no token.</summary>
    internal bool Plain { get; }

    /// <summary>The attempt's cancellation (the client's): the context carries it only while chaos is armed.</summary>
    internal CancellationToken Cancellation { get; }

    /// <summary>A guard's refusal: nothing was admitted, so nothing is settled.</summary>
    public static AttemptInFlight NothingToSettle(AttemptOutcome refusal) => NothingToSettle(ValueTask.FromResult(Polly.Outcome.FromResult(refusal)));

    /// <summary>An attempt whose producer settles it itself (an upstream batch's share, a send of its own after a refusal).</summary>
    public static AttemptInFlight NothingToSettle(ValueTask<Outcome<AttemptOutcome>> outcome) => new(null, outcome, null, plain: false, default);
}
