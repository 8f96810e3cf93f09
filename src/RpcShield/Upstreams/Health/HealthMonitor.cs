using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Health;

/// <summary>
/// Probes every upstream (`eth_blockNumber`; `eth_chainId` before first use and re-admission) and
/// signals each chain's <see cref="RankingPublisher"/>: on every probe result, on every passive
/// health change, and every 100 ms so in-flight load and latency stay current. It never ranks itself.
/// </summary>
internal sealed partial class HealthMonitor : BackgroundService
{
    private static readonly byte[] BlockNumberRequest = """{"jsonrpc":"2.0","id":"rpcshield-probe","method":"eth_blockNumber","params":[]}"""u8.ToArray();
    private static readonly byte[] ChainIdRequest = """{"jsonrpc":"2.0","id":"rpcshield-probe","method":"eth_chainId","params":[]}"""u8.ToArray();
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    private readonly ChainRegistry _chains;
    private readonly UpstreamSender _sender;
    private readonly TimeProvider _time;
    private readonly ILogger<HealthMonitor> _logger;

    public HealthMonitor(ChainRegistry chains, UpstreamSender sender, TimeProvider time, ILogger<HealthMonitor> logger)
    {
        _chains = chains;
        _sender = sender;
        _time = time;
        _logger = logger;
        // A reload that adds upstreams probes them before traffic moves to them (make before break).
        _chains.ProbeNewUpstreamsWith(ProbeAsync);
        _sender.HealthChanged += upstream =>
        {
            if (_chains.TryGet(upstream.Chain, out var chain))
            {
                ReportStatus(upstream.Chain, upstream.Name, upstream);
                chain.SignalRanking();
            }
        };
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // One probe round before the listener opens, so the first request finds verified upstreams.
        await ProbeAllAsync(cancellationToken).ConfigureAwait(false);
        foreach (var chain in _chains.Chains)
        {
            chain.PublishNow();
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var refresh = RefreshLoopAsync(stoppingToken);
        // StartAsync has just probed every upstream: the next probe of each is one interval away
        // (without this the first tick probed everything a second time).
        var started = _time.GetTimestamp();
        var lastProbe = _chains.Chains.SelectMany(c => c.Upstreams).Distinct().ToDictionary(u => u, _ => started);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50), _time);
        try
        {
            while (await tick.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = _time.GetTimestamp();
                if (lastProbe.Count > _chains.Chains.Sum(c => c.Upstreams.Count))
                {
                    // Upstreams removed by a reload: forget them.
                    var live = _chains.Chains.SelectMany(c => c.Upstreams).ToHashSet();
                    foreach (var gone in lastProbe.Keys.Where(u => !live.Contains(u)).ToList())
                    {
                        lastProbe.Remove(gone);
                    }
                }

                foreach (var chain in _chains.Chains)
                {
                    var interval = chain.Options.Routing.Health.Interval;
                    foreach (var upstream in chain.Upstreams)
                    {
                        if (lastProbe.TryGetValue(upstream, out var last) && _time.GetElapsedTime(last, now) < interval)
                        {
                            continue;
                        }

                        lastProbe[upstream] = now;
                        _ = ProbeAsync(chain, upstream, stoppingToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await refresh.ConfigureAwait(false);
    }

    private async Task RefreshLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var chain in _chains.Chains)
                {
                    chain.SignalRanking();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public Task ProbeAllAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_chains.Chains.SelectMany(chain => chain.Upstreams.Select(u => ProbeAsync(chain, u, cancellationToken))));

    /// <summary>One probe of one upstream; never throws.</summary>
    public async Task ProbeAsync(ChainRuntime chain, Upstream upstream, CancellationToken cancellationToken)
    {
        var timeout = chain.Options.Routing.Health.Timeout;
        try
        {
            var before = upstream.Health.Status;
            var verified = false;
            if (upstream.Health.NeedsChainIdCheck)
            {
                var chainId = await QueryNumberAsync(upstream, ChainIdRequest, "eth_chainId", timeout, cancellationToken).ConfigureAwait(false);
                if (chainId is null)
                {
                    return;
                }

                if (chainId != chain.Options.ChainId)
                {
                    if (upstream.Health.ChainIdMismatch(chainId.Value, chain.Options.ChainId))
                    {
                        LogWrongChain(chain.Name, upstream.Name, chainId.Value, chain.Options.ChainId);
                        chain.SignalRanking();
                    }

                    return;
                }

                verified = true;
            }

            var head = await QueryNumberAsync(upstream, BlockNumberRequest, "eth_blockNumber", timeout, cancellationToken).ConfigureAwait(false);
            if (head is null)
            {
                return;
            }

            upstream.Health.ProbeSucceeded(head.Value, verified);
            chain.SignalRanking();
            if (upstream.Health.Status != before)
            {
                ReportStatus(chain.Name, upstream.Name, upstream);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogProbeCrash(ex, chain.Name, upstream.Name);
        }
    }

    /// <summary>Sends a probe and reads a hex quantity result; null (and a recorded failure) otherwise.</summary>
    private async Task<long?> QueryNumberAsync(Upstream upstream, byte[] request, string method, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var outcome = await _sender.SendAsync(upstream, request, method, timeout, call: null, cancellationToken).ConfigureAwait(false);
        if (outcome.Kind == AttemptKind.Answered && outcome.Body is { } body && JsonRpc.HexQuantity.TryReadResult(body.Span, out var value))
        {
            return value;
        }

        // A JSON-RPC answer that is not a number (error, garbage) is a failed probe too. Transport
        // and HTTP failures were already recorded (and logged) by the sender.
        if (outcome.Kind is AttemptKind.Answered or AttemptKind.Unsupported or AttemptKind.Throttled or AttemptKind.Unconfirmed
            && upstream.Health.Failed(outcome.Kind == AttemptKind.Throttled ? "throttled" : "bad_probe_answer", hard: false))
        {
            ReportStatus(upstream.Chain, upstream.Name, upstream);
        }

        return null;
    }


    /// <summary>Losing an upstream is a warning; getting it back is information.</summary>
    private void ReportStatus(string chain, string name, Upstream upstream)
    {
        if (upstream.Health.Status == HealthStatus.Healthy)
        {
            LogHealthy(chain, name);
        }
        else
        {
            LogStatus(chain, name, upstream.Health.Status, upstream.Health.LastError ?? "");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: upstream {Upstream} is now {Status} {Reason}")]
    private partial void LogStatus(string chain, string upstream, HealthStatus status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: upstream {Upstream} is healthy")]
    private partial void LogHealthy(string chain, string upstream);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Chain {Chain}: upstream {Upstream} reports chain id {Actual}, configured {Expected}: it will NOT be used")]
    private partial void LogWrongChain(string chain, string upstream, long actual, long expected);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chain {Chain}: probe of {Upstream} failed unexpectedly")]
    private partial void LogProbeCrash(Exception ex, string chain, string upstream);
}
