using Microsoft.AspNetCore.Routing.Patterns;
using RpcShield.Configuration;

namespace RpcShield.Hosting.Passthrough;

/// <summary>Checks `passthrough:` routes: valid YARP patterns that cannot shadow RpcShield's own endpoints.</summary>
internal static class PassthroughValidation
{
    public static void Validate(ProxyOptions options, Action<string, string> error)
    {
        var chains = options.Chains.Select(c => c.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        for (var p = 0; p < options.Passthrough.Count; p++)
        {
            var route = options.Passthrough[p];
            var path = $"passthrough[{p}]";
            if (route.Path.StartsWith('/'))
            {
                RoutePattern? pattern = null;
                try
                {
                    pattern = RoutePatternFactory.Parse(route.Path);
                }
                catch (RoutePatternException ex)
                {
                    error($"{path}.path", $"not a valid route pattern: {ex.Message}");
                }

                if (pattern is not null)
                {
                    var first = pattern.PathSegments.Count > 0 && pattern.PathSegments[0].IsSimple && pattern.PathSegments[0].Parts[0] is RoutePatternLiteralPart literal
                        ? literal.Content
                        : null;
                    if (first is null)
                    {
                        error($"{path}.path", "must start with a literal segment (e.g. /beacon/{**rest}) so it cannot shadow POST / and /{chain}");
                    }
                    else if (chains.Contains(first) || ReservedPaths.Contains(first))
                    {
                        error($"{path}.path", $"first segment '{first}' is a chain name or an RpcShield endpoint");
                    }
                }
            }

            if (route.HealthPath is { } health && !health.StartsWith('/'))
            {
                error($"{path}.health_path", "must start with '/'");
            }

            if (route.HealthInterval <= TimeSpan.Zero)
            {
                error($"{path}.health_interval", "must be a positive duration");
            }

            if (route.HealthTimeout <= TimeSpan.Zero)
            {
                error($"{path}.health_timeout", "must be a positive duration");
            }

            foreach (var (name, value) in route.Headers)
            {
                if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)))
                {
                    error($"{path}.headers", $"'{name}' is not a valid header name");
                }
                else if (value.Any(c => c is '\r' or '\n' or '\0'))
                {
                    // The value itself is never echoed: it may be a secret.
                    error($"{path}.headers.{name}", "must not contain line breaks");
                }
            }

            if (PassthroughConfigProvider.LoadBalancingPolicy(route.LoadBalancing) is null)
            {
                error($"{path}.load_balancing", "must be power_of_two_choices, round_robin, least_requests, random or first");
            }
        }
    }
}
