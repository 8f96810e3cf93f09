using System.Threading.Channels;
using RpcShield.Telemetry;

namespace RpcShield.Journal;

/// <summary>
/// The request-path side of the SQLite journal: a bounded channel. <see cref="Record"/> never
/// waits: when the queue is full the entry is dropped and counted
/// (`rpcshield_journal_dropped_total`). <see cref="JournalWriter"/> drains it in batches.
/// </summary>
internal sealed class SqliteFailureJournal : IFailureJournal
{
    private readonly Channel<JournalEntry> _channel;
    private readonly Prometheus.Counter.Child _dropped;

    private readonly Hosting.Security.SecretScrubber? _scrubber;

    public SqliteFailureJournal(int capacity, RpcShieldMetrics metrics, Hosting.Security.SecretScrubber? scrubber = null)
    {
        _scrubber = scrubber;
        Capacity = capacity;
        _channel = Channel.CreateBounded<JournalEntry>(new BoundedChannelOptions(capacity)
        {
            // Wait + TryWrite = "fail fast when full": TryWrite returns false instead of blocking.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _dropped = metrics.JournalDropped.WithLabels();
    }

    public int Capacity { get; }

    internal ChannelReader<JournalEntry> Reader => _channel.Reader;

    /// <summary>Entries waiting to be written.</summary>
    public int Pending => _channel.Reader.Count;

    public void Record(JournalEntry entry)
    {
        entry = JournalLimits.Apply(entry);
        if (_scrubber is not null && (entry.Reason is not null || entry.Note is not null))
        {
            // Free-text fields: whatever error text reached them, no configured secret is stored.
            var reason = entry.Reason is null ? null : _scrubber.Scrub(entry.Reason);
            var note = entry.Note is null ? null : _scrubber.Scrub(entry.Note);
            if (!ReferenceEquals(reason, entry.Reason) || !ReferenceEquals(note, entry.Note))
            {
                entry = entry with { Reason = reason, Note = note };
            }
        }

        if (!_channel.Writer.TryWrite(entry))
        {
            _dropped.Inc();
        }
    }

    /// <summary>Stops accepting entries (shutdown); the writer drains what is queued.</summary>
    internal void Complete() => _channel.Writer.TryComplete();
}
