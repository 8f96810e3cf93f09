namespace RpcShield.Features.Fanout;

/// <summary>`result_shape` of a builder (what an acceptance looks like), parsed once per snapshot.</summary>
internal enum BuilderResultShape
{
    /// <summary>`any`.</summary>
    Any,
    /// <summary>`bundle_hash`: `{bundleHash}`, kept as the builder's own id.</summary>
    BundleHash,
    /// <summary>`status_code`: HTTP 200.</summary>
    StatusCode,
    /// <summary>`null`.</summary>
    Null,
}
