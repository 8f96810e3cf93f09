using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace RpcShield.Hosting.Passthrough;

/// <summary>
/// What every passthrough request loses and gains on its way to a destination (a third party):
/// the client's `Authorization` header and `token` query parameter (RpcShield's own credentials)
/// are removed, the route's configured `headers` are set, and the URL is built so a destination
/// with a path or query key stays correct (<see cref="PassthroughDestinationUrl"/>).
/// </summary>
internal sealed class PassthroughRequestTransforms : ITransformProvider
{
    /// <summary>The query parameter a bot may use to present `server.auth_token`.</summary>
    public const string TokenParameter = "token";

    private readonly PassthroughConfigProvider _routes;

    public PassthroughRequestTransforms(PassthroughConfigProvider routes) => _routes = routes;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        // Looked up per request: YARP keeps an unchanged route's transforms across a reload that only changes headers.
        var id = context.Route.RouteId;
        context.AddRequestTransform(transform => Apply(transform, _routes.HeadersOf(id)));
    }

    private static ValueTask Apply(RequestTransformContext context, IReadOnlyDictionary<string, string> headers)
    {
        var request = context.ProxyRequest;
        request.Headers.Authorization = null;
        // Matched as the auth middleware reads it: `?TOKEN=` authenticates too.
        foreach (var name in context.Query.Collection.Keys.Where(k => k.Equals(TokenParameter, StringComparison.OrdinalIgnoreCase)).ToArray())
        {
            context.Query.Collection.Remove(name);
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        request.RequestUri = PassthroughDestinationUrl.Build(context.DestinationPrefix, context.Path, context.Query.QueryString);
        return ValueTask.CompletedTask;
    }
}
