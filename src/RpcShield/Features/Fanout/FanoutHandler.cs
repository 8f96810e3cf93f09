using System.Text.Json;
using RpcShield.Features.BundleStatus;
using RpcShield.Chains;
using RpcShield.Upstreams.Heads;
using RpcShield.Features.Inclusion;
using RpcShield.Journal;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Features.Signing;

namespace RpcShield.Features.Fanout;

/// <summary>
/// Serves `routing.fanout` methods: the bot's exact request bytes go to every builder of the chain
/// that accepts the method, in parallel, each within its own `timeout` and `max_rps`. The bot is
/// answered as soon as one builder accepts (plus `routing.fanout_grace`), in a client-compatible
/// shape (`{bundleHash}` = the portable Flashbots id for bundles); the other builders finish in
/// the background and are recorded (metrics, journal kind `builder`). Every builder failing gives
/// -32095 with `data.builders`.
/// </summary>
internal sealed partial class FanoutHandler : IRpcHandler, IDisposable
{
    public const string BuildersHeader = "X-RpcShield-Builders";

    /// <summary>Blocks a private transaction without maxBlockNumber is followed for (builders' own default window).</summary>
    public const int DefaultPrivateWindow = 25;

    private readonly BuilderRegistry _builders;
    private readonly BuilderSender _sender;
    private readonly InclusionTracker _tracker;
    private readonly IFailureJournal _journal;
    private readonly TimeProvider _time;
    private readonly ILogger<FanoutHandler> _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly SigningKeySource _signing;
    private int _disposed;

    private readonly MonotonicHeadFilter? _served;
    private readonly BundleStatusBook? _statuses;
    private readonly ReplacementBook? _replacements;

    public FanoutHandler(BuilderRegistry builders, BuilderSender sender, SigningKeySource signing, InclusionTracker tracker, IFailureJournal journal, TimeProvider time, ILogger<FanoutHandler> logger, MonotonicHeadFilter? served = null, BundleStatusBook? statuses = null, ReplacementBook? replacements = null)
    {
        _replacements = replacements;
        _signing = signing;
        _served = served;
        _statuses = statuses;
        _builders = builders;
        _sender = sender;
        _tracker = tracker;
        _journal = journal;
        _time = time;
        _logger = logger;
    }

    public bool Handles(ChainRuntime chain, string method) =>
        chain.Options.Builders.Count > 0 && chain.Methods[method].Fanout;

    public async ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        var method = item.Method;
        var targets = Array.FindAll(_builders.For(chain.Name), b => b.Supports(method));
        if (targets.Length == 0)
        {
            return ForwardResult.Error(RpcErrorCodes.MethodNotFound, $"No builder of chain {chain.Name} accepts {method}");
        }

        var submission = BundleSubmission.Parse(method, item.Params, out var invalid);
        if (submission is null)
        {
            return ForwardResult.Error(RpcErrorCodes.InvalidParams, invalid!);
        }

        if (BundleTransaction.FirstMalformed(submission.RawTransactions) is var malformed and >= 0)
        {
            return ForwardResult.Error(RpcErrorCodes.InvalidParams, $"{method}: transaction {malformed} is not a decodable signed transaction (typed or legacy RLP); nothing was sent to the builders");
        }

        // A cancel of a uuid whose bundles builders accepted goes to exactly those builders, each in the style it was recorded with.
        var cancelStyles = CancelRecipients(chain, submission, ref targets);

        // The best head RpcShield knows: tracked, or already answered to a bot as eth_blockNumber
        // (the bot may have seen a block the head tracker has not yet).
        var head = KnownHead(chain);
        // The portable id, also for refusals and -32095 (data.bundleHash): the bot can still ask rpcshield_getBundleStatus why.
        // A private transaction is followed by its transaction hash (what the bot is answered) until its maxBlockNumber.
        var isPrivate = submission.Method is "eth_sendPrivateTransaction" or "eth_sendPrivateRawTransaction" && submission.RawTransactions.Count > 0;
        var bundleHash = submission.Method == "eth_sendBundle" && submission.RawTransactions.Count > 0 ? BundleSubmission.Hex(BundleSubmission.BundleHash(submission.RawTransactions))
            : isPrivate ? BundleSubmission.Hex(FlashbotsSigner.Keccak(submission.RawTransactions[0])) : null;
        var target = !isPrivate ? submission.BlockNumber : submission.MaxBlockNumber >= 0 ? submission.MaxBlockNumber : head >= 0 ? head + DefaultPrivateWindow : -1;
        if (submission.BlockNumber >= 0 && head >= 0 && submission.BlockNumber <= head)
        {
            var refusal = $"Bundle targets block {submission.BlockNumber} but block {head} is already the chain head: target {head + 1} or later";
            if (bundleHash is not null)
            {
                _statuses?.Rejected(chain.Name, bundleHash, submission.BlockNumber, refusal, call.Strategy);
            }

            return ForwardResult.Error(RpcErrorCodes.InvalidParams, refusal, data: bundleHash is null ? null : w => WriteBundleHash(w, bundleHash));
        }

        // Our own copy: builders still running after the bot is answered outlive the request buffer.
        var body = item.Raw.ToArray();
        var run = new FanoutRun(targets.Length);
        var signatures = new SignatureCache(_signing.Current, call.RequestHeaders.TryGetValue(FlashbotsSigner.HeaderName, out var clientSignature) ? clientSignature.ToString() : null, body);
        var bodies = new BuilderBodies(body, method, submission, item.Id);
        var background = _shutdown.Token;
        var signer = signatures.CanSign;
        // Request headers must not be read once the bot has been answered (Kestrel reuses them).
        var origin = new Origin(chain, call.Strategy, bundleHash, target);
        RecordStatus(chain, submission, bundleHash, target, head, call.Strategy, body);

        // Builders that need no signature of ours go first: signing (~1 ms of ECDSA) must not delay them.
        bool[] passes = signer ? [false, true] : [false];
        foreach (var signed in passes)
        {
            for (var i = 0; i < targets.Length; i++)
            {
                var builder = targets[i];
                var settings = builder.Settings;
                if ((signer && settings.Sign) != signed)
                {
                    continue;
                }

                // The builder's dialect: the same body instance for builders of one dialect, so each distinct body is signed once.
                var (payload, sentMethod) = cancelStyles is not null ? bodies.ForCancel(cancelStyles[builder.Name]) : bodies.For(settings);
                var signature = signatures.For(settings.Sign, payload);
                _ = SubmitAsync(run, i, builder, payload, sentMethod, signature, origin, submission, call, background);
            }
        }

        await run.WaitFirstAsync(cancellationToken).ConfigureAwait(false);
        var grace = chain.Options.Routing.FanoutGrace;
        if (run.FirstOk is not null && grace > TimeSpan.Zero)
        {
            await run.WaitAllAsync(grace, _time, cancellationToken).ConfigureAwait(false);
        }

        var finished = run.Snapshot();
        foreach (var outcome in finished)
        {
            if (outcome is not null)
            {
                call.Annotate(BuildersHeader, $"{outcome.Builder}={outcome.Label}");
            }
        }

        if (run.FirstOk is { } winner)
        {
            TrackBundle(call, submission, finished, target, isPrivate ? head + 1 : -1);
            return ForwardResult.Local(Answer(item, submission, winner, targets[run.FirstOkIndex]));
        }

        if (!run.AllDone)
        {
            // Only reachable when the client went away: nothing to answer.
            return ForwardResult.Error(RpcErrorCodes.AllBuildersFailed, "Request cancelled by the client before any builder answered");
        }

        LogAllFailed(chain.Name, method, targets.Length);
        var message = AllFailedMessage(finished);
        if (bundleHash is not null && target >= 0)
        {
            _statuses?.AllFailed(chain.Name, bundleHash, target, isPrivate ? -1 : KnownHead(chain), message);
        }

        return ForwardResult.Error(RpcErrorCodes.AllBuildersFailed, message, data: writer => WriteBuilders(writer, finished, bundleHash));
    }

    /// <summary>
    /// "Every builder failed (3): most common reason 'http_400 block already sealed' (2 of 3)": client
    /// libraries often show only the message, so it names what went wrong, not only how many.
    /// </summary>
    internal static string AllFailedMessage(IReadOnlyList<BuilderOutcome?> finished)
    {
        var failed = finished.OfType<BuilderOutcome>().Where(o => !o.IsOk).ToList();
        var message = $"Every builder failed ({finished.Count})";
        if (failed.GroupBy(o => o.Reason, StringComparer.Ordinal).OrderByDescending(g => g.Count()).FirstOrDefault() is { } common)
        {
            message += $": most common reason '{common.Key}' ({common.Count()} of {finished.Count})";
        }

        return message;
    }

    private async Task SubmitAsync(FanoutRun run, int index, BuilderEndpoint builder, byte[] payload, string method, string? signature, Origin origin, BundleSubmission submission, RpcCall call, CancellationToken background)
    {
        BuilderOutcome outcome;
        try
        {
            await Task.Yield();
            outcome = await _sender.SendAsync(builder, payload, method, signature, call, background).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogSubmitFailed(ex, builder.Name);
            outcome = BuilderOutcome.Local(builder.Name, BuilderOutcomeKind.Error, "internal_error");
        }

        builder.RecordSubmission(method, outcome);
        if (outcome.IsOk && submission is { Method: "eth_sendBundle", RawTransactions.Count: > 0, ReplacementUuid: { } uuid }
            && builder.Settings.SentMethod("eth_cancelBundle") is { } cancelMethod)
        {
            _replacements?.Accepted(origin.Chain.Name, uuid, builder.Name, cancelMethod == "eth_sendBundle" ? "empty_bundle" : "method");
        }

        if (origin.BundleHash is not null && origin.Target >= 0)
        {
            _statuses?.BuilderAnswered(origin.Chain.Name, origin.BundleHash, origin.Target,
                new BuilderAnswer(builder.Name, outcome.Label, outcome.Reason, KnownHead(origin.Chain) >= origin.Target));
        }

        _journal.Record(new JournalEntry
        {
            Kind = "builder",
            Timestamp = _time.GetUtcNow(),
            Chain = origin.Chain.Name,
            Strategy = origin.Strategy,
            HeadBlock = origin.Chain.BestHead >= 0 ? origin.Chain.BestHead : null,
            Method = method,
            Reason = outcome.Reason == outcome.Label ? outcome.Label : $"{outcome.Label}: {outcome.Reason}",
            // `rpcshield report` reads the outcome column: `ok` is a success, anything else a failure kind.
            Outcome = outcome.Label,
            LatencyMs = outcome.Latency.TotalMilliseconds,
            Builder = builder.Name,
            BundleHash = submission.Method == "eth_sendBundle" && submission.RawTransactions.Count > 0 ? BundleSubmission.Hex(BundleSubmission.BundleHash(submission.RawTransactions)) : null,
            Note = outcome.Body is { Length: > 0 } answer ? Truncate(answer) : null,
        });
        run.Complete(index, outcome);
    }

    /// <summary>Follows an accepted bundle to its target block, or a private transaction (<paramref name="firstBlock"/> ≥ 0) through its window.</summary>
    private void TrackBundle(RpcCall call, BundleSubmission submission, BuilderOutcome?[] finished, long target, long firstBlock)
    {
        if (submission.Method is not ("eth_sendBundle" or "eth_sendPrivateTransaction" or "eth_sendPrivateRawTransaction") || submission.RawTransactions.Count == 0 || target < 0)
        {
            return;
        }

        var transactions = new List<RawTransaction>(submission.RawTransactions.Count);
        var hashes = new List<string>(submission.RawTransactions.Count);
        foreach (var raw in submission.RawTransactions)
        {
            var decoded = RawTransaction.TryDecode(raw);
            hashes.Add(decoded?.Hash ?? BundleSubmission.Hex(FlashbotsSigner.Keccak(raw)));
            if (decoded is not null)
            {
                transactions.Add(decoded);
            }
        }

        var tracked = new TrackedBundle
        {
            Chain = call.Chain.Name,
            BundleHash = firstBlock >= 0 ? hashes[0] : BundleSubmission.Hex(BundleSubmission.BundleHash(submission.RawTransactions)),
            TargetBlock = target,
            FirstBlock = firstBlock,
            Method = submission.Method,
            TxHashes = hashes,
            Transactions = transactions,
            AcceptedBy = finished.Where(o => o is { IsOk: true }).Select(o => o!.Builder).ToArray(),
            Strategy = call.Strategy,
        };
        _tracker.Track(tracked);
        _statuses?.Tracked(tracked);
    }

    /// <summary>
    /// For a cancel (eth_cancelBundle, or eth_sendBundle with no transactions) of a uuid with recorded
    /// acceptors: builder name → cancel style, and <paramref name="targets"/> narrowed to those builders.
    /// Null (every builder that takes the method) when nothing is recorded: a uuid never sent through
    /// this process, or forgotten (<see cref="ReplacementBook.Capacity"/>).
    /// </summary>
    private Dictionary<string, string>? CancelRecipients(ChainRuntime chain, BundleSubmission submission, ref BuilderEndpoint[] targets)
    {
        if (_replacements is null || submission is not { Method: "eth_cancelBundle" or "eth_sendBundle", RawTransactions.Count: 0, ReplacementUuid: { } uuid }
            || _replacements.Recipients(chain.Name, uuid) is not { } styles)
        {
            return null;
        }

        var recorded = Array.FindAll(_builders.For(chain.Name), b => styles.ContainsKey(b.Name));
        if (recorded.Length == 0)
        {
            return null;
        }

        targets = recorded;
        return styles;
    }

    /// <summary>The best head RpcShield knows: tracked, or already answered to a bot as eth_blockNumber.</summary>
    private long KnownHead(ChainRuntime chain) => Math.Max(chain.BestHead, _served?.HighestServed(chain.Name) ?? -1);

    /// <summary>Bundle status (`rpcshield_getBundleStatus`): a bundle is pending from now on; a cancel cancels the bundles sent with its uuid.</summary>
    private void RecordStatus(ChainRuntime chain, BundleSubmission submission, string? bundleHash, long target, long head, string? strategy, byte[] body)
    {
        if (_statuses is null)
        {
            return;
        }

        if (submission is { Method: "eth_cancelPrivateTransaction", CancelTxHash: { } txHash })
        {
            _statuses.CancelTransaction(chain.Name, txHash, head);
        }
        else if (bundleHash is not null && target >= 0)
        {
            var hashes = Array.ConvertAll(BundleSubmission.TransactionHashes(submission.RawTransactions), h => BundleSubmission.Hex(h));
            _statuses.Submitted(chain.Name, bundleHash, target, submission.RawTransactions, hashes, submission.ReplacementUuid, strategy, head, body);
        }
        else if (submission.ReplacementUuid is { } uuid && submission.RawTransactions.Count == 0)
        {
            _statuses.Cancel(chain.Name, uuid, head);
        }
    }

    /// <summary>The bot's answer: client-compatible whatever dialect the winning builder speaks.</summary>
    private static PooledBuffer Answer(RpcRequestItem item, BundleSubmission submission, BuilderOutcome winner, BuilderEndpoint winnerEndpoint)
    {
        var buffer = new PooledBuffer(256);
        switch (submission.Method)
        {
            case "eth_sendBundle":
                var bundleHash = BundleSubmission.Hex(BundleSubmission.BundleHash(submission.RawTransactions));
                RpcResponseWriter.WriteResult(buffer, item.Id.Span, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("bundleHash"u8, bundleHash);
                    w.WriteEndObject();
                });
                break;
            case "eth_sendPrivateRawTransaction" or "eth_sendPrivateTransaction":
                var txHash = BundleSubmission.Hex(FlashbotsSigner.Keccak(submission.RawTransactions[0]));
                RpcResponseWriter.WriteResult(buffer, item.Id.Span, w => w.WriteStringValue(txHash));
                break;
            case "eth_cancelBundle" when winnerEndpoint.UsesEmptyBundleCancel:
                RpcResponseWriter.WriteResult(buffer, item.Id.Span, static w => w.WriteNullValue());
                break;
            default:
                if (winner.Body is { Length: > 0 } answer)
                {
                    // Pass the builder's own answer through (it echoes the bot's id: the bytes were forwarded unchanged).
                    buffer.Write(answer);
                }
                else
                {
                    // An acceptance made without an HTTP answer (a pipeline strategy): a plain null result.
                    RpcResponseWriter.WriteResult(buffer, item.Id.Span, static w => w.WriteNullValue());
                }

                break;
        }

        return buffer;
    }

    /// <summary>
    /// A cancel of <paramref name="replacementUuid"/>: `eth_sendBundle` with no transactions (how
    /// BuilderNet-style builders cancel) or `eth_cancelBundle`.
    /// </summary>
    internal static byte[] CancelBody(ReadOnlySpan<byte> rawId, string replacementUuid, bool emptyBundle)
    {
        using var buffer = new PooledBuffer(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc"u8, "2.0"u8);
            writer.WritePropertyName("id"u8);
            writer.WriteRawValue(rawId.IsEmpty ? "null"u8 : rawId, skipInputValidation: true);
            writer.WriteString("method"u8, emptyBundle ? "eth_sendBundle"u8 : "eth_cancelBundle"u8);
            writer.WriteStartArray("params"u8);
            writer.WriteStartObject();
            if (emptyBundle)
            {
                writer.WriteStartArray("txs"u8);
                writer.WriteEndArray();
            }

            writer.WriteString("replacementUuid"u8, replacementUuid);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.Span.ToArray();
    }

    private static void WriteBundleHash(Utf8JsonWriter writer, string bundleHash)
    {
        writer.WriteStartObject();
        writer.WriteString("bundleHash"u8, bundleHash);
        writer.WriteEndObject();
    }

    internal static void WriteBuilders(Utf8JsonWriter writer, IReadOnlyList<BuilderOutcome?> outcomes, string? bundleHash = null)
    {
        writer.WriteStartObject();
        if (bundleHash is not null)
        {
            writer.WriteString("bundleHash"u8, bundleHash);
        }

        writer.WriteStartArray("builders"u8);
        foreach (var outcome in outcomes)
        {
            if (outcome is null)
            {
                continue;
            }

            writer.WriteStartObject();
            writer.WriteString("builder"u8, outcome.Builder);
            writer.WriteString("outcome"u8, outcome.Label);
            writer.WriteString("reason"u8, outcome.Reason);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static string Truncate(byte[] answer)
    {
        var length = Math.Min(answer.Length, 300);
        return System.Text.Encoding.UTF8.GetString(answer, 0, length);
    }

    /// <summary>What a background submission may still use of the request: never the request itself.</summary>
    private sealed record Origin(ChainRuntime Chain, string? Strategy, string? BundleHash, long Target);

    /// <summary>Stops builder submissions still running in the background (host shutdown). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _shutdown.Cancel();
            _shutdown.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: every builder ({Count}) failed {Method}")]
    private partial void LogAllFailed(string chain, string method, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Submission to builder {Builder} failed unexpectedly")]
    private partial void LogSubmitFailed(Exception exception, string builder);
}
