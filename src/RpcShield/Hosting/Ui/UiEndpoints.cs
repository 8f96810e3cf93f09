using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using RpcShield.Hosting.Security;

namespace RpcShield.Hosting.Ui;

/// <summary>
/// `GET /ui`: the live page, served from files embedded in the assembly. The page needs the client
/// token like `/status` does (`/ui?token=…`; the page then sends it to `/status` as a header). Its
/// script and stylesheet hold no data and are the same for every install, so they load without it.
/// </summary>
internal static class UiEndpoints
{
    public static IEndpointRouteBuilder MapUi(this IEndpointRouteBuilder app)
    {
        var page = UiAsset.Load("index.html", "text/html; charset=utf-8");
        var script = UiAsset.Load("app.js", "text/javascript; charset=utf-8");
        var style = UiAsset.Load("app.css", "text/css; charset=utf-8");
        app.MapGet("/ui", page.WriteAsync);
        app.MapGet("/ui/app.js", script.WriteAsync).WithMetadata(ClientTokenNotRequired.Instance);
        app.MapGet("/ui/app.css", style.WriteAsync).WithMetadata(ClientTokenNotRequired.Instance);
        return app;
    }
}
