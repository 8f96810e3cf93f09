using System.Collections.Frozen;
using RpcShield.Configuration;
using RpcShield.Routing;

namespace RpcShield.Features.Fanout;

/// <summary>
/// A builder's effective settings: its `profile`'s defaults with every key the builder sets itself
/// taking precedence. Resolved once per config snapshot (not per request).
/// </summary>
internal sealed class BuilderSettings
{
    // `methods` and `reads` compiled once (per config snapshot, as the settings are).
    private readonly MethodSet _methods;
    private readonly MethodSet _reads;

    private BuilderSettings(BuilderOptions options, BuilderProfile profile)
    {
        Profile = profile;
        Sign = options.Sign ?? profile.Sign;
        CancelStyle = options.CancelStyle ?? profile.CancelStyle;
        SignatureHeader = options.SignatureHeader ?? profile.SignatureHeader;
        ResultShape = options.ResultShape ?? profile.ResultShape;
        Cancel = CancelStyle == "empty_bundle" ? BuilderCancelStyle.EmptyBundle : BuilderCancelStyle.Method;
        Shape = ResultShape switch
        {
            "bundle_hash" => BuilderResultShape.BundleHash,
            "status_code" => BuilderResultShape.StatusCode,
            "null" => BuilderResultShape.Null,
            _ => BuilderResultShape.Any,
        };
        MaxRps = options.MaxRps ?? profile.MaxRps;
        Reads = options.Reads.Count > 0 ? options.Reads : profile.Reads;
        DropFields = options.DropFields is { } drop
            ? drop.ToFrozenSet(StringComparer.Ordinal)
            : profile.Name == BuilderProfile.Custom ? FrozenSet<string>.Empty : BuilderProfile.DialectFields.Except(profile.OwnFields).ToFrozenSet(StringComparer.Ordinal);
        _methods = new MethodSet(options.Methods);
        _reads = new MethodSet(Reads);
    }

    public BuilderProfile Profile { get; }

    public bool Sign { get; }

    /// <summary>`cancel_style` as configured (shown on /status); the request path reads <see cref="Cancel"/>.</summary>
    public string CancelStyle { get; }

    public BuilderCancelStyle Cancel { get; }

    public bool UsesEmptyBundleCancel => Cancel == BuilderCancelStyle.EmptyBundle;

    /// <summary>Header the signature goes in (`X-Flashbots-Signature` unless the builder wants another).</summary>
    public string SignatureHeader { get; }

    /// <summary>`result_shape` as configured (shown on /status); the request path reads <see cref="Shape"/>.</summary>
    public string ResultShape { get; }

    public BuilderResultShape Shape { get; }

    public double MaxRps { get; }

    /// <summary>Relay reads this builder serves (method globs).</summary>
    public IReadOnlyList<string> Reads { get; }

    /// <summary>`eth_sendBundle` / `mev_sendBundle` params[0] fields removed from what this builder is sent.</summary>
    public FrozenSet<string> DropFields { get; }

    public static BuilderSettings Resolve(BuilderOptions options) => new(options, BuilderProfile.Get(options.Profile));

    /// <summary>
    /// The method <paramref name="method"/> (a fan-out method) is sent to this builder as, or null when
    /// the builder does not take it. An empty-bundle cancel is sent as eth_sendBundle.
    /// </summary>
    public string? SentMethod(string method)
    {
        if (method == "eth_cancelBundle")
        {
            // A builder cancelling by empty bundle needs eth_sendBundle, not eth_cancelBundle.
            var taken = Takes(method) || (UsesEmptyBundleCancel && Takes("eth_sendBundle"));
            return !taken ? null : UsesEmptyBundleCancel ? "eth_sendBundle" : method;
        }

        if (!Takes(method))
        {
            return null;
        }

        return Profile.Methods.TryGetValue(method, out var sent) ? sent : method;
    }

    public bool ServesRead(string method) => _reads.Contains(method);

    private bool Takes(string method)
    {
        if (_methods.Count > 0)
        {
            return _methods.Contains(method);
        }

        return Profile.Methods.Count == 0 || Profile.Methods.ContainsKey(method);
    }
}
