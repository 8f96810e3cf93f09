using System.Text.Json;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Journal;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// Verified reads (`routing.consistency.verify`): a named method goes to `quorum` upstreams at the
/// same head (`latest` pinned to the best head's number) in parallel and their answers (`result`
/// or `error`, byte for byte) are compared. The majority answer is served, else the best-ranked
/// node's; every node outvoted is marked `diverged` for the cool-down (ranked last), counted in
/// `rpcshield_upstream_disagreements_total` and journaled. Extra requests go only to `trusted`
/// upstreams where any is marked.
/// </summary>
internal sealed partial class VerifiedReadHandler(UpstreamSender sender, ReadForwarder reads, RpcShieldMetrics metrics, IFailureJournal journal, TimeProvider time, ILogger<VerifiedReadHandler> logger) : IRpcHandler
{
    public bool Handles(ChainRuntime chain, string method) => chain.Methods[method].Verified;

    public ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        var candidates = HeadConsistency.Route(chain, item, chain.Candidates(item.Method, int.MaxValue), out _);
        // Every member answers for the same block: `latest` is pinned for all of them.
        var block = BlockRef.Read(item.Method, item.Params.Span);
        var sent = block.CanPin && chain.BestHead >= 0 ? HeadConsistency.Pin(item, block, chain.BestHead) : item;
        var members = QuorumMembers.Pick(chain, candidates, chain.Options.Routing.Consistency.Verify.Quorum);
        return members.Length < 2 ? reads.ForwardAsync(chain, item, cancellationToken, call) : VerifyAsync(call, item, sent, members, cancellationToken);
    }

    private async ValueTask<ForwardResult> VerifyAsync(RpcCall call, RpcRequestItem item, RpcRequestItem sent, Upstream[] members, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        var outcomes = await QuorumMembers.AskAllAsync(sender, call, chain, sent, members, cancellationToken).ConfigureAwait(false);
        try
        {
            // Members are in rank order: the first answer of a group is its best-ranked node's.
            var answers = new List<(AttemptOutcome Outcome, byte[] Key)>(outcomes.Length);
            List<AttemptRecord>? failed = null;
            foreach (var outcome in outcomes)
            {
                if (outcome is { Kind: AttemptKind.Answered, Body: { } body } && AnswerKey(body.Span) is { } key)
                {
                    answers.Add((outcome, key));
                }
                else if (outcome.Kind != AttemptKind.Cancelled)
                {
                    (failed ??= []).Add(new AttemptRecord(outcome.Upstream.Name, outcome.Reason));
                }
            }

            if (answers.Count == 0)
            {
                return await reads.ForwardAsync(chain, item, cancellationToken, call).ConfigureAwait(false);
            }

            var winner = answers[0];
            foreach (var candidate in answers)
            {
                if (answers.Count(a => a.Key.AsSpan().SequenceEqual(candidate.Key)) * 2 > answers.Count)
                {
                    winner = candidate;
                    break;
                }
            }

            foreach (var (outcome, key) in answers)
            {
                if (!key.AsSpan().SequenceEqual(winner.Key))
                {
                    Outvoted(chain, item.Method, outcome.Upstream, winner.Outcome.Upstream);
                }
            }

            return ForwardResult.Served(winner.Outcome.TakeBody()!, winner.Outcome.Upstream, winner.Outcome.Reply.HasError, failed?.ToArray() ?? []);
        }
        finally
        {
            foreach (var outcome in outcomes)
            {
                outcome.Dispose();
            }
        }
    }

    private void Outvoted(ChainRuntime chain, string method, Upstream upstream, Upstream winner)
    {
        upstream.MarkDiverged(chain.Options.Routing.Consistency.Verify.Cooldown);
        metrics.UpstreamDisagreements.WithLabels(chain.Name, upstream.Name, KnownMethods.Label(method)).Inc();
        LogDiverged(chain.Name, upstream.Name, method, winner.Name);
        journal.Record(new JournalEntry
        {
            Kind = JournalKinds.Disagreement,
            Timestamp = time.GetUtcNow(),
            Chain = chain.Name,
            HeadBlock = chain.BestHead >= 0 ? chain.BestHead : null,
            Method = method,
            Upstream = upstream.Name,
            Reason = "outvoted",
            Note = $"answer differs from {winner.Name}'s",
        });
        chain.SignalRanking();
    }

    /// <summary>The raw `result` (or `error`) of an answer: what nodes must agree on (ids and key order aside).</summary>
    private static byte[]? AnswerKey(ReadOnlySpan<byte> response)
    {
        try
        {
            var reader = new Utf8JsonReader(response);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAnswer = reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("error"u8);
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (isAnswer)
                {
                    return response[start..(int)reader.BytesConsumed].ToArray();
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: upstream {Upstream} was outvoted on a verified {Method} (served {Winner}'s answer): diverged, ranked last for the cool-down")]
    private partial void LogDiverged(string chain, string upstream, string method, string winner);
}
