namespace RpcShield.JsonRpc;

/// <summary>The chain's mode as shown in `X-RpcShield-Mode` (full, degraded, minimal).</summary>
internal interface IChainModeSource
{
    string ModeOf(string chain);
}
