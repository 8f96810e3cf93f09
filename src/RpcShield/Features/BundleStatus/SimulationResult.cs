namespace RpcShield.Features.BundleStatus;

/// <summary>
/// What simulating a bundle on its target block's parent state showed: <see cref="Ran"/> false when
/// no method could simulate it (<see cref="Detail"/> says why); otherwise the first transaction that
/// reverted (index -1 when none did) and its revert data or message.
/// </summary>
internal sealed record SimulationResult(bool Ran, string Method, int RevertedIndex, string? RevertData, string Detail)
{
    public bool Reverted => Ran && RevertedIndex >= 0;

    /// <summary>The reverting transaction's hash when the method named it (eth_callBundle); else the judge finds it by index.</summary>
    public string? RevertedTx { get; init; }

    public static SimulationResult NotRun(string why) => new(false, "", -1, null, why);
}
