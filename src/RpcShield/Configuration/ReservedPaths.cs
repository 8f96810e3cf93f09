namespace RpcShield.Configuration;

/// <summary>First path segments RpcShield serves itself: no chain or passthrough route may take one.</summary>
internal static class ReservedPaths
{
    public static readonly string[] FirstSegments = ["healthz", "readyz", "status", "metrics", "admin", "ui", "v1", "sandbox"];

    public static bool Contains(string segment) => FirstSegments.Contains(segment, StringComparer.OrdinalIgnoreCase);
}
