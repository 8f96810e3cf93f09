using System.Net;
using Microsoft.AspNetCore.Http;
using RpcShield.Configuration;
using RpcShield.Hosting.Security;

namespace RpcShield.Hosting.Admin;

/// <summary>
/// Who may call `/admin/*`: the API is disabled without `admin.token`; callers must present
/// `Authorization: Bearer &lt;admin.token&gt;` (constant-time compare) and, unless
/// `admin.allow_remote: true`, come from a loopback address.
/// </summary>
internal static class AdminGuard
{
    /// <summary>Null when allowed, else the HTTP status and a short reason (never echoing the token).</summary>
    public static (int Status, string Reason)? Check(HttpContext context, AdminOptions admin)
    {
        if (string.IsNullOrEmpty(admin.Token))
        {
            return (StatusCodes.Status404NotFound, "admin API disabled: set admin.token");
        }

        var remote = context.Connection.RemoteIpAddress;
        if (!admin.AllowRemote && (remote is null || !IPAddress.IsLoopback(remote)))
        {
            return (StatusCodes.Status403Forbidden, "admin API is loopback-only (admin.allow_remote)");
        }

        if (!ClientAuthMiddleware.TokenEquals(ClientAuthMiddleware.BearerToken(context.Request), admin.Token))
        {
            return (StatusCodes.Status401Unauthorized, "admin token required");
        }

        return null;
    }
}
