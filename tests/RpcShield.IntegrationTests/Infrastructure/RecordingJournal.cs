using System.Collections.Concurrent;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>Keeps journal entries in memory so tests can see what the proxy journaled.</summary>
internal sealed class RecordingJournal : IFailureJournal
{
    private readonly ConcurrentQueue<JournalEntry> _entries = new();

    public IReadOnlyList<JournalEntry> Entries => _entries.ToArray();

    public void Record(JournalEntry entry) => _entries.Enqueue(entry);
}
