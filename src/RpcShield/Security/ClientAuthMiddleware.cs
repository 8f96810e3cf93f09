using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using RpcShield.Configuration;
using RpcShield.JsonRpc;

namespace RpcShield.Security;

/// <summary>
/// When `server.auth_token` is set, every path except /healthz and /readyz needs it, as
/// `Authorization: Bearer …` or `?token=` (for bots that can only set a URL). Compared in
/// constant time; the token is never logged or echoed.
/// </summary>
internal sealed class ClientAuthMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ConfigStore _config;

    public ClientAuthMiddleware(RequestDelegate next, ConfigStore config)
    {
        _next = next;
        _config = config;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var token = _config.Current.Server.AuthToken;
        var path = context.Request.Path;
        if (string.IsNullOrEmpty(token) || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/admin"))
        {
            return _next(context);
        }

        var presented = BearerToken(context.Request) ?? context.Request.Query["token"].ToString();
        if (TokenEquals(presented, token))
        {
            return _next(context);
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(RpcResponseWriter.ErrorBytes(default, RpcErrorCodes.InvalidRequest, "Unauthorized: a valid token is required")).AsTask();
    }

    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }

    /// <summary>Constant-time comparison (hashes first so lengths do not leak either).</summary>
    public static bool TokenEquals(string? presented, string expected)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var a = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        var b = SHA256.HashData(Encoding.UTF8.GetBytes(expected));
        return CryptographicOperations.FixedTimeEquals(a, b);
    }
}
