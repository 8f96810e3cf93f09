namespace RpcShield.Journal;

/// <summary>
/// Where every failure-relevant event goes (failed attempt, failover, hedge, broadcast outcome,
/// builder outcome, bundle outcome, mode change, chaos injection, config reload, client-reported
/// outcome). <see cref="Record"/> never blocks and never throws: the SQLite writer drains a
/// bounded queue off the hot path and counts what it has to drop.
/// </summary>
internal interface IFailureJournal
{
    void Record(JournalEntry entry);
}

/// <summary>One journal row. Never put secrets (URLs with keys, tokens, signing keys) in any field.</summary>
internal sealed record JournalEntry
{
    /// <summary>failed_attempt, failover, hedge, broadcast, builder, bundle, mode_change, chaos, config_reload, outcome.</summary>
    public required string Kind { get; init; }
    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UtcNow;
    public string? Chain { get; init; }
    /// <summary>The bot's `X-RpcShield-Strategy` header, when sent.</summary>
    public string? Strategy { get; init; }
    public long? HeadBlock { get; init; }
    public string? Method { get; init; }
    /// <summary>Short machine-readable reason (`timeout`, `http_503`, `lost`, `degraded->minimal: 1 healthy`).</summary>
    public string? Reason { get; init; }
    public double? LatencyMs { get; init; }
    public string? Upstream { get; init; }
    public string? Builder { get; init; }
    public string? BundleHash { get; init; }
    public string? TxHash { get; init; }
    public string? CompetitorTx { get; init; }
    public double? ExpectedProfit { get; init; }
    /// <summary>For outcome reports: succeeded, lost_to_competitor, rpc_failure, simulation_error, other.</summary>
    public string? Outcome { get; init; }
    public string? Note { get; init; }
}

/// <summary>Used when no journal is configured (`journal.path: ""`).</summary>
internal sealed class NullFailureJournal : IFailureJournal
{
    public void Record(JournalEntry entry)
    {
    }
}
