using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RpcShield.Journal;

namespace RpcShield.Tests.Journal;

/// <summary>The journal writer's log lines, formatted (to count them and look for secrets or stack traces).</summary>
internal sealed class CapturingLogger : ILogger<JournalWriter>
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
}
