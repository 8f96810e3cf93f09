namespace RpcShield.Features.BundleStatus;

/// <summary>
/// One builder's answer to a bundle submission, as `rpcshield_getBundleStatus` shows it in `builders`:
/// outcome label (ok, error, timeout, throttled), the builder's short reason, and whether it came
/// after RpcShield had already seen the target block (a late acceptance).
/// </summary>
internal sealed record BuilderAnswer(string Builder, string Outcome, string Reason, bool AfterTarget)
{
    public bool IsOk => Outcome == "ok";
}
