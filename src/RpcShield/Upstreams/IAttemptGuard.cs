namespace RpcShield.Upstreams;

/// <summary>
/// A synchronous admission check around every attempt, outside the Polly attempt pipeline (a
/// budget answers "yes" or "no" at once, so it needs no async layer per attempt). A refused
/// attempt is never sent and never reaches the breaker.
/// </summary>
internal interface IAttemptGuard
{
    /// <summary>Null admits the attempt (<see cref="Completed"/> follows); otherwise the local refusal.</summary>
    AttemptOutcome? Admit(Upstream upstream);

    /// <summary>The admitted attempt ended (<paramref name="outcome"/> null when it ended by an exception).</summary>
    void Completed(Upstream upstream, AttemptOutcome? outcome);
}
