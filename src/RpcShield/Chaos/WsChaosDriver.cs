using Microsoft.Extensions.Hosting;
using RpcShield.Configuration;

namespace RpcShield.Chaos;

/// <summary>
/// What `ws_disconnect` acts on: the WebSocket layer's sockets. The subscription hub implements
/// it (`DisconnectClients(chain)`, `DisconnectUpstreams(chain, upstream)`); both return how many
/// sockets were dropped, exactly as a network failure would drop them.
/// </summary>
internal interface IWsDisconnectTarget
{
    int DisconnectClients(string chain);

    int DisconnectUpstreams(string chain, string? upstream);
}

/// <summary>
/// Drives `ws_disconnect`: once per <see cref="Tick"/> (1 s), for each chain (client scope) and
/// each upstream (upstream scope, matched by `targets`), a matching rule's `rate` is rolled — so
/// `rate` is the chance per second — and the sockets are dropped through every registered
/// <see cref="IWsDisconnectTarget"/>. An injection is recorded only when a socket was dropped.
/// Rules match the method `eth_subscribe`. Does nothing when no target is registered.
/// </summary>
internal sealed class WsChaosDriver : BackgroundService
{
    public static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private const string Method = "eth_subscribe";

    private readonly IChaosController _chaos;
    private readonly ConfigStore _config;
    private readonly IWsDisconnectTarget[] _targets;
    private readonly TimeProvider _time;

    public WsChaosDriver(IChaosController chaos, ConfigStore config, IEnumerable<IWsDisconnectTarget> targets, TimeProvider time)
    {
        _chaos = chaos;
        _config = config;
        _targets = targets.ToArray();
        _time = time;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_targets.Length == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                RunOnce();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One tick: roll every matching ws_disconnect rule once per chain and per upstream.</summary>
    public void RunOnce()
    {
        if (!_chaos.IsArmed)
        {
            return;
        }

        foreach (var chain in _config.Current.Chains)
        {
            if (_chaos.Match(ChaosScope.Client, chain.Name, null, Method, IsWsDisconnect) is { } clientRule)
            {
                var dropped = _targets.Sum(t => t.DisconnectClients(chain.Name));
                if (dropped > 0)
                {
                    _chaos.RecordInjection(clientRule, chain.Name, Method, null, call: null);
                }
            }

            foreach (var upstream in chain.Upstreams)
            {
                if (_chaos.Match(ChaosScope.Upstream, chain.Name, upstream.Name, Method, IsWsDisconnect) is { } rule)
                {
                    var dropped = _targets.Sum(t => t.DisconnectUpstreams(chain.Name, upstream.Name));
                    if (dropped > 0)
                    {
                        _chaos.RecordInjection(rule, chain.Name, Method, upstream.Name, call: null);
                    }
                }
            }
        }
    }

    private static bool IsWsDisconnect(ChaosRule rule) => rule.Fault == ChaosFault.WsDisconnect;
}
