using System.Text;

namespace RpcShield.Features.Subscriptions;

/// <summary>
/// A subscription as the client sees it: RpcShield's own id, stable for its whole life whichever
/// upstream currently feeds it. Becomes active once the `eth_subscribe` reply is queued, so no
/// notification ever overtakes the id it belongs to.
/// </summary>
internal sealed class ClientSubscription
{
    private static readonly byte[] Suffix = "}}"u8.ToArray();
    private readonly byte[] _prefix;
    private volatile bool _active;

    public ClientSubscription(string id, WsClientConnection connection, SubscriptionFeed feed)
    {
        Id = id;
        Connection = connection;
        Feed = feed;
        _prefix = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"{{id}}","result":""");
    }

    public string Id { get; }

    public WsClientConnection Connection { get; }

    public SubscriptionFeed Feed { get; }

    public void Activate() => _active = true;

    /// <summary>Queues one notification carrying the upstream's raw result under this client's id.</summary>
    public void Deliver(byte[] result)
    {
        if (!_active)
        {
            return;
        }

        var message = new byte[_prefix.Length + result.Length + Suffix.Length];
        _prefix.CopyTo(message, 0);
        result.CopyTo(message, _prefix.Length);
        Suffix.CopyTo(message, _prefix.Length + result.Length);
        Connection.TryEnqueue(message);
    }
}
