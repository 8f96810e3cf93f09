namespace RpcShield.Journal;

/// <summary>
/// Longest value stored per journal text field (characters; longer values are cut). Methods
/// outside <see cref="JsonRpc.KnownMethods"/> are stored as `other`, like metric labels, so a
/// client sending 1 MB method names grows neither the journal nor the process.
/// </summary>
internal static class JournalLimits
{
    /// <summary>kind, outcome: bounded sets.</summary>
    public const int Label = 32;

    /// <summary>chain, upstream, builder: configured names.</summary>
    public const int Name = 64;

    /// <summary>The bot's `X-RpcShield-Strategy` header.</summary>
    public const int Strategy = 128;

    /// <summary>Transaction and bundle hashes (0x + 64 hex digits).</summary>
    public const int Hash = 66;

    public const int Reason = 512;

    public const int Note = 2048;

    public static string? Clip(string? value, int max) => value is null || value.Length <= max ? value : value[..max];

    /// <summary>
    /// The entry with every field within its cap (the same instance when it already is): applied
    /// when an entry is queued, so an oversized one never sits in memory waiting for the writer.
    /// </summary>
    public static JournalEntry Apply(JournalEntry entry)
    {
        var method = entry.Method is null ? null : JsonRpc.KnownMethods.Label(entry.Method);
        if (ReferenceEquals(method, entry.Method) && Fits(entry.Kind, Label) && Fits(entry.Chain, Name) && Fits(entry.Strategy, Strategy)
            && Fits(entry.Reason, Reason) && Fits(entry.Upstream, Name) && Fits(entry.Builder, Name) && Fits(entry.BundleHash, Hash)
            && Fits(entry.TxHash, Hash) && Fits(entry.CompetitorTx, Hash) && Fits(entry.Outcome, Label) && Fits(entry.Note, Note))
        {
            return entry;
        }

        return entry with
        {
            Kind = Clip(entry.Kind, Label)!, Chain = Clip(entry.Chain, Name), Strategy = Clip(entry.Strategy, Strategy), Method = method,
            Reason = Clip(entry.Reason, Reason), Upstream = Clip(entry.Upstream, Name), Builder = Clip(entry.Builder, Name),
            BundleHash = Clip(entry.BundleHash, Hash), TxHash = Clip(entry.TxHash, Hash), CompetitorTx = Clip(entry.CompetitorTx, Hash),
            Outcome = Clip(entry.Outcome, Label), Note = Clip(entry.Note, Note),
        };
    }

    private static bool Fits(string? value, int max) => value is null || value.Length <= max;
}
