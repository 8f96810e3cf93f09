using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using RpcShield.Configuration;
using RpcShield.JsonRpc;

namespace RpcShield.Hosting.Security;

/// <summary>
/// When `server.auth_token` is set, checks it (`Authorization: Bearer …` or `?token=`, for bots
/// that can only set a URL; compared in constant time, never logged or echoed). A request without
/// it is only marked here: it skips the JSON-RPC fast path, and <see cref="ClientAuthGate"/> lets
/// it reach nothing but endpoints marked <see cref="ClientTokenNotRequired"/> (/healthz, /readyz,
/// /admin/*, which has its own token).
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
        if (!string.IsNullOrEmpty(token) && !TokenEquals(BearerToken(context.Request) ?? context.Request.Query["token"].ToString(), token))
        {
            context.Features.Set(Unauthenticated.Instance);
        }

        return _next(context);
    }

    /// <summary>False when a token is configured and the request did not present it.</summary>
    public static bool Authenticated(HttpContext context) => context.Features.Get<Unauthenticated>() is null;

    public static Task RejectAsync(HttpContext context)
    {
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

    /// <summary>The feature marking a request that did not present the configured token.</summary>
    private sealed class Unauthenticated
    {
        public static readonly Unauthenticated Instance = new();
    }
}
