namespace RpcShield.Hosting.Security;

/// <summary>
/// Endpoint metadata: this endpoint serves clients without `server.auth_token` (liveness and
/// readiness probes; `/admin/*`, which checks its own token). Auth is decided by the endpoint a
/// request reaches, never by how its path is spelled.
/// </summary>
internal sealed class ClientTokenNotRequired
{
    public static readonly ClientTokenNotRequired Instance = new();

    private ClientTokenNotRequired()
    {
    }
}
