using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace RpcShield.Sandbox;

/// <summary>What happened to one bundle in a sealed block.</summary>
internal sealed record BundleInclusion(string BundleHash, bool Included, string? Reason);

/// <summary>One block of the sandbox chain: who built it and which bundles it took.</summary>
internal sealed record SealedBlock(long Number, string? Builder, string? Coinbase, IReadOnlyList<BundleInclusion> Bundles, DateTimeOffset SealedAt);

/// <summary>
/// Drives the sandbox chain: every slot one builder wins (by weight), sets itself as coinbase,
/// puts its valid bundles for the next block into the pool in arrival order (bundles that cannot
/// execute are dropped whole), then the block is mined with `evm_mine`.
/// </summary>
internal sealed partial class SlotProducer
{
    /// <summary>A contract installed at genesis that forwards msg.value to block.coinbase (reverts if that fails).</summary>
    public const string CoinbaseTipper = "0xc0ffee0000000000000000000000000000000000";
    public const string CoinbaseTipperCode = "0x600060006000600034415af115601157005b600080fd";
    private const int HistorySize = 256;

    private readonly AnvilClient _anvil;
    private readonly IReadOnlyList<SandboxBuilder> _builders;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sealing = new(1, 1);
    private readonly Lock _lock = new();
    private readonly LinkedList<SealedBlock> _history = new();
    private long _head;

    public SlotProducer(AnvilClient anvil, IReadOnlyList<SandboxBuilder> builders, TimeProvider time, Random random, ILogger logger)
    {
        _anvil = anvil;
        _builders = builders;
        _time = time;
        _random = random;
        _logger = logger;
    }

    /// <summary>Raised after each block is mined.</summary>
    public event Action<SealedBlock>? BlockSealed;

    public long Head => Interlocked.Read(ref _head);

    public IReadOnlyList<SealedBlock> History
    {
        get
        {
            lock (_lock)
            {
                return [.. _history];
            }
        }
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _anvil.CallAsync("anvil_setCode", $"[\"{CoinbaseTipper}\",\"{CoinbaseTipperCode}\"]", cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _head, await _anvil.BlockNumberAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Seals a block every <paramref name="slot"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan slot, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(slot, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await SealAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or AnvilRpcException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    LogSealFailed(ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Picks the slot's winner from the builder weights (null when there is no builder with weight).</summary>
    public SandboxBuilder? PickWinner()
    {
        var total = _builders.Sum(b => Math.Max(0, b.Weight));
        if (total <= 0)
        {
            return null;
        }

        var roll = _random.NextDouble() * total;
        foreach (var builder in _builders)
        {
            roll -= Math.Max(0, builder.Weight);
            if (roll < 0)
            {
                return builder;
            }
        }

        return _builders.Last(b => b.Weight > 0);
    }

    /// <summary>Seals the next block now (the slot loop calls this; tests may too).</summary>
    public async Task<SealedBlock> SealAsync(CancellationToken cancellationToken, SandboxBuilder? winner = null)
    {
        await _sealing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var target = await _anvil.BlockNumberAsync(cancellationToken).ConfigureAwait(false) + 1;
            winner ??= PickWinner();
            var outcomes = new List<BundleInclusion>();
            if (winner is not null)
            {
                await _anvil.CallAsync("anvil_setCoinbase", $"[\"{winner.Coinbase}\"]", cancellationToken).ConfigureAwait(false);
                foreach (var bundle in winner.TakeFor(target, _time.GetUtcNow().ToUnixTimeSeconds()))
                {
                    var reason = await IncludeAsync(bundle, cancellationToken).ConfigureAwait(false);
                    outcomes.Add(new BundleInclusion(bundle.BundleHash, reason is null, reason));
                    if (bundle.Block is { } block)
                    {
                        winner.Verdict(bundle.BundleHash, block, reason is null ? "included" : SandboxVerdict.Classify(reason), reason);
                    }

                    if (reason is null)
                    {
                        winner.CountIncluded();
                    }
                    else
                    {
                        LogBundleDropped(target, winner.Name, bundle.BundleHash, reason);
                    }
                }
            }

            await _anvil.CallAsync("evm_mine", "[]", cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _head, target);
            foreach (var builder in _builders)
            {
                builder.Prune(target);
            }

            var sealedBlock = new SealedBlock(target, winner?.Name, winner?.Coinbase, outcomes, _time.GetUtcNow());
            lock (_lock)
            {
                _history.AddLast(sealedBlock);
                if (_history.Count > HistorySize)
                {
                    _history.RemoveFirst();
                }
            }

            LogSealed(target, winner?.Name ?? "(none)", outcomes.Count(o => o.Included), outcomes.Count(o => !o.Included));
            BlockSealed?.Invoke(sealedBlock);
            return sealedBlock;
        }
        finally
        {
            _sealing.Release();
        }
    }

    /// <summary>Puts a bundle's transactions into the pool for this block; on any failure removes them again. Null = included.</summary>
    private async Task<string?> IncludeAsync(SandboxBundle bundle, CancellationToken cancellationToken)
    {
        var sent = new List<string>();
        string? failure = null;
        foreach (var raw in bundle.Txs)
        {
            if (!SandboxTransaction.TryDecode(raw, out var tx))
            {
                failure = "undecodable transaction";
                break;
            }

            var mayRevert = bundle.RevertingTxHashes.Contains(tx!.Hash);
            try
            {
                var pendingNonce = JsonRpc.HexQuantity.Parse((await _anvil.CallAsync("eth_getTransactionCount", $"[\"{tx.From}\",\"pending\"]", cancellationToken).ConfigureAwait(false)).GetString());
                if (tx.Nonce > pendingNonce)
                {
                    failure = $"tx {Short(tx.Hash)}: nonce {tx.Nonce} is ahead of the sender's next nonce {pendingNonce}";
                    break;
                }

                if (!mayRevert)
                {
                    try
                    {
                        await _anvil.CallAsync("eth_call", $"[{tx.CallObjectJson()},\"latest\"]", cancellationToken).ConfigureAwait(false);
                    }
                    catch (AnvilRpcException ex)
                    {
                        failure = $"tx {Short(tx.Hash)} reverts: {ex.NodeMessage}";
                        break;
                    }
                }

                await _anvil.CallAsync("eth_sendRawTransaction", $"[\"{raw}\"]", cancellationToken).ConfigureAwait(false);
                sent.Add(tx.Hash);
            }
            catch (AnvilRpcException ex)
            {
                failure = $"tx {Short(tx.Hash)} rejected: {ex.NodeMessage}";
                break;
            }
        }

        if (failure is not null)
        {
            foreach (var hash in sent)
            {
                try
                {
                    await _anvil.CallAsync("anvil_dropTransaction", $"[\"{hash}\"]", cancellationToken).ConfigureAwait(false);
                }
                catch (AnvilRpcException)
                {
                }
            }
        }

        return failure;
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..10] + "…" : hash;

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox block {Block} built by {Builder}: {Included} bundle(s) included, {Dropped} dropped")]
    private partial void LogSealed(long block, string builder, int included, int dropped);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox block {Block}: builder {Builder} dropped bundle {Bundle}: {Reason}")]
    private partial void LogBundleDropped(long block, string builder, string bundle, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox could not seal a block: {Reason}")]
    private partial void LogSealFailed(string reason);
}
