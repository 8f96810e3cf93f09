using Microsoft.AspNetCore.Http;

namespace RpcShield.Hosting.Ui;

/// <summary>One embedded file of the live page, read once at start.</summary>
internal sealed class UiAsset(byte[] content, string contentType)
{
    /// <summary>Scripts and styles only from this origin, data only from /status, nothing external (no CDN, no fonts).</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public Task WriteAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentType = contentType;
        headers.CacheControl = "no-store";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // The page is opened as /ui?token=…: no Referer may carry that URL anywhere.
        headers["Referrer-Policy"] = "no-referrer";
        context.Response.ContentLength = content.Length;
        return context.Response.Body.WriteAsync(content, context.RequestAborted).AsTask();
    }

    public static UiAsset Load(string fileName, string contentType)
    {
        var name = "RpcShield.Hosting.Ui." + fileName;
        using var stream = typeof(UiAsset).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return new UiAsset(buffer.ToArray(), contentType);
    }
}
