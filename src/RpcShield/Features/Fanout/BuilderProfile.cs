using System.Collections.Frozen;

namespace RpcShield.Features.Fanout;

/// <summary>
/// What RpcShield knows of a builder family (`builders[].profile`): the fan-out methods it takes and
/// the method each is sent as, the relay reads it serves, how it cancels, whether it checks a
/// signature and in which header, the shape of its answer, its documented rate limit, and the
/// `eth_sendBundle` fields that are its own dialect. Facts as of late 2025 (docs/fanout.md); every
/// one is only a default that the builder's own keys override.
/// </summary>
internal sealed class BuilderProfile
{
    public const string Custom = "custom";

    public const string FlashbotsHeader = Signing.FlashbotsSigner.HeaderName;

    /// <summary>The profile names accepted in `builders[].profile`.</summary>
    public static readonly string[] Names = ["flashbots", "buildernet", "titan", "quasar", "beaverbuild", Custom];

    /// <summary>`result_shape` values: `{bundleHash}`, a bare `200`, `null`, or anything.</summary>
    public static readonly string[] ResultShapes = ["bundle_hash", "status_code", "null", "any"];

    private static readonly FrozenDictionary<string, BuilderProfile> Known = new BuilderProfile[]
    {
        new()
        {
            Name = "flashbots",
            Methods = Identity("eth_sendBundle", "mev_sendBundle", "eth_cancelBundle", "eth_sendPrivateTransaction", "eth_sendPrivateRawTransaction", "eth_cancelPrivateTransaction"),
            Reads = ["eth_callBundle", "mev_simBundle", "flashbots_getBundleStatsV2", "flashbots_getUserStatsV2", "flashbots_getBundleStats", "flashbots_getUserStats", "flashbots_getSbundleStats"],
            Sign = true,
            ResultShape = "bundle_hash",
            // Relay per IP: eth_sendBundle 1800/min.
            MaxRps = 30,
            OwnFields = ["builders"],
        },
        new()
        {
            Name = "buildernet",
            // No cancel method (empty-txs resend); private transactions only as eth_sendRawTransaction.
            Methods = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["eth_sendBundle"] = "eth_sendBundle",
                ["mev_sendBundle"] = "mev_sendBundle",
                ["eth_cancelBundle"] = "eth_sendBundle",
                ["eth_sendPrivateTransaction"] = "eth_sendRawTransaction",
                ["eth_sendPrivateRawTransaction"] = "eth_sendRawTransaction",
            }.ToFrozenDictionary(StringComparer.Ordinal),
            CancelStyle = "empty_bundle",
            Sign = true,
            ResultShape = "bundle_hash",
            // 1000 requests per 10 s.
            MaxRps = 100,
            OwnFields = ["replacementNonce"],
        },
        new()
        {
            Name = "titan",
            Methods = Identity("eth_sendBundle", "eth_cancelBundle", "eth_sendPrivateTransaction", "eth_sendPrivateRawTransaction", "eth_cancelPrivateTransaction"),
            Reads = ["titan_getBundleStats"],
            // The signature is optional: it carries the searcher's reputation when a key is configured.
            Sign = true,
            ResultShape = "status_code",
        },
        new()
        {
            Name = "quasar",
            Methods = Identity("eth_sendBundle", "eth_cancelBundle"),
            ResultShape = "any",
            OwnFields = ["replacementSeqNumber"],
        },
        new()
        {
            Name = "beaverbuild",
            Methods = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["eth_sendBundle"] = "eth_sendBundle",
                ["eth_cancelBundle"] = "eth_sendBundle",
                ["eth_sendPrivateTransaction"] = "eth_sendPrivateRawTransaction",
                ["eth_sendPrivateRawTransaction"] = "eth_sendPrivateRawTransaction",
            }.ToFrozenDictionary(StringComparer.Ordinal),
            CancelStyle = "empty_bundle",
            ResultShape = "any",
        },
        new() { Name = Custom },
    }.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>Every profile's own `eth_sendBundle` fields (another builder does not take them).</summary>
    public static readonly FrozenSet<string> DialectFields = Known.Values.SelectMany(p => p.OwnFields).ToFrozenSet(StringComparer.Ordinal);

    public required string Name { get; init; }

    /// <summary>Fan-out method → the method this builder is sent (empty: every fan-out method, as sent).</summary>
    public FrozenDictionary<string, string> Methods { get; init; } = FrozenDictionary<string, string>.Empty;

    /// <summary>Relay reads (eth_callBundle, bundle stats …) this builder answers.</summary>
    public IReadOnlyList<string> Reads { get; init; } = [];

    /// <summary>`method` (eth_cancelBundle) or `empty_bundle` (replacementUuid resent with `txs: []`).</summary>
    public string CancelStyle { get; init; } = "method";

    public bool Sign { get; init; }

    public string SignatureHeader { get; init; } = FlashbotsHeader;

    public string ResultShape { get; init; } = "any";

    /// <summary>Documented rate limit in submissions per second (0 = none documented).</summary>
    public double MaxRps { get; init; }

    /// <summary>`eth_sendBundle` fields only this builder family takes.</summary>
    public IReadOnlyList<string> OwnFields { get; init; } = [];

    /// <summary>The named profile; `custom` for a name that is not one (the validator reports it).</summary>
    public static BuilderProfile Get(string? name) => Known.TryGetValue(name ?? Custom, out var profile) ? profile : Known[Custom];

    private static FrozenDictionary<string, string> Identity(params string[] methods) =>
        methods.ToFrozenDictionary(m => m, m => m, StringComparer.Ordinal);
}
