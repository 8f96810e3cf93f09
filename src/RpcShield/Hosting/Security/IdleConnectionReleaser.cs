using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace RpcShield.Hosting.Security;

/// <summary>
/// Makes idle keep-alive connections give way when `server.max_connections` is nearly reached:
/// Kestrel alone keeps an idle connection for its whole keep-alive timeout (2 minutes), so a
/// client that opens connections and leaves them idle could lock everyone else out. Above the
/// high-water mark (90 % of the limit) each new connection asks the least recently active
/// keep-alive connection to close gracefully (Kestrel's <see cref="IConnectionLifetimeNotificationFeature"/>:
/// an idle one closes at once, a busy one after its current response; nothing in flight is lost).
/// WebSocket connections are never asked.
/// </summary>
internal sealed class IdleConnectionReleaser
{
    private readonly ConcurrentDictionary<string, TrackedConnection> _open = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _highWater;
    private int _count;
    private long _released;

    public IdleConnectionReleaser(int maxConnections, TimeProvider time)
    {
        _time = time;
        _highWater = Math.Max(1, maxConnections - Math.Max(1, maxConnections / 10));
    }

    /// <summary>Connections asked to close so far (tests and diagnostics).</summary>
    public long Released => Interlocked.Read(ref _released);

    /// <summary>Kestrel connection middleware: tracks every accepted connection for its lifetime.</summary>
    public ConnectionDelegate Track(ConnectionDelegate next) => async connection =>
    {
        var tracked = new TrackedConnection(connection, _time.GetTimestamp());
        _open[connection.ConnectionId] = tracked;
        try
        {
            if (Interlocked.Increment(ref _count) > _highWater)
            {
                ReleaseLeastRecentlyActive(except: tracked);
            }

            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _open.TryRemove(connection.ConnectionId, out _);
            Interlocked.Decrement(ref _count);
        }
    };

    /// <summary>Called for every request (no allocation): marks the connection active, and upgraded when it becomes a WebSocket.</summary>
    public void Touch(HttpContext context)
    {
        if (_open.TryGetValue(context.Connection.Id, out var tracked))
        {
            tracked.LastActive = _time.GetTimestamp();
            if (HttpMethods.IsGet(context.Request.Method) && context.WebSockets.IsWebSocketRequest)
            {
                tracked.Upgraded = true;
            }
        }
    }

    private void ReleaseLeastRecentlyActive(TrackedConnection except)
    {
        TrackedConnection? oldest = null;
        foreach (var (_, candidate) in _open)
        {
            if (candidate != except && !candidate.Upgraded && !candidate.Released && (oldest is null || candidate.LastActive < oldest.LastActive))
            {
                oldest = candidate;
            }
        }

        if (oldest?.Connection.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime)
        {
            oldest.Released = true;
            Interlocked.Increment(ref _released);
            lifetime.RequestClose();
        }
    }

    private sealed class TrackedConnection(ConnectionContext connection, long opened)
    {
        public ConnectionContext Connection { get; } = connection;

        public long LastActive { get; set; } = opened;

        public bool Upgraded { get; set; }

        public bool Released { get; set; }
    }
}
