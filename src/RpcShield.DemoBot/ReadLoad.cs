using System.Collections.Concurrent;

namespace RpcShield.DemoBot;

/// <summary>A steady stream of ordinary reads through RpcShield; counts what succeeded and who served it.</summary>
internal sealed class ReadLoad(RpcClient rpc, string account, int perSecond)
{
    private static readonly string[] Methods = ["eth_blockNumber", "eth_getBalance", "eth_getBlockByNumber", "eth_chainId", "eth_getTransactionCount"];
    private readonly ConcurrentDictionary<string, int> _servedBy = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _errors = new();
    private int _ok;
    private int _failed;
    private int _totalOk;
    private int _totalFailed;

    public int TotalOk => Volatile.Read(ref _totalOk);

    public int TotalFailed => Volatile.Read(ref _totalFailed);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (perSecond <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / perSecond));
        var i = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var method = Methods[i++ % Methods.Length];
                _ = OneAsync(method, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task OneAsync(string method, CancellationToken cancellationToken)
    {
        var parameters = method switch
        {
            "eth_getBalance" or "eth_getTransactionCount" => $"[\"{account}\",\"latest\"]",
            "eth_getBlockByNumber" => "[\"latest\",false]",
            _ => "[]",
        };
        var answer = await rpc.CallAsync(method, parameters, cancellationToken).ConfigureAwait(false);
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        if (answer.Ok)
        {
            Interlocked.Increment(ref _ok);
            Interlocked.Increment(ref _totalOk);
            _servedBy.AddOrUpdate(answer.Upstream ?? "?", 1, (_, n) => n + 1);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            Interlocked.Increment(ref _totalFailed);
            _errors.Enqueue($"{method}: {answer.Error}");
        }
    }

    /// <summary>Counts since the last call, e.g. `reads 40 ok/0 failed (node-a 38, node-b 2)`.</summary>
    public string TakeSlotSummary()
    {
        var ok = Interlocked.Exchange(ref _ok, 0);
        var failed = Interlocked.Exchange(ref _failed, 0);
        var served = _servedBy.ToArray();
        _servedBy.Clear();
        var by = string.Join(", ", served.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"));
        var text = $"reads {ok} ok/{failed} failed" + (by.Length > 0 ? $" ({by})" : "");
        if (_errors.TryDequeue(out var error))
        {
            text += $" first error: {error}";
            _errors.Clear();
        }

        return text;
    }
}
