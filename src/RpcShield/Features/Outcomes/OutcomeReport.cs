using System.Globalization;
using System.Text.Json;
using RpcShield.Journal;

namespace RpcShield.Features.Outcomes;

/// <summary>
/// A bot's report of how an opportunity ended (`rpcshield_reportOutcome`, `POST /v1/outcomes`):
/// `{strategy, block, expectedProfit, outcome, bundleHash?, competitorTx?, latencyMs?, note?}`.
/// </summary>
internal sealed record OutcomeReport(
    string Strategy,
    long Block,
    double ExpectedProfit,
    string Outcome,
    string? BundleHash,
    string? CompetitorTx,
    double? LatencyMs,
    string? Note,
    string? Chain)
{
    public static readonly string[] Outcomes = ["succeeded", "lost_to_competitor", "rpc_failure", "simulation_error", "other"];

    public const int MaxStrategyLength = 128;
    public const int MaxNoteLength = 1024;

    public JournalEntry ToEntry(string chain, DateTimeOffset now) => new()
    {
        Kind = JournalKinds.Outcome,
        Timestamp = now,
        Chain = Chain ?? chain,
        Strategy = Strategy,
        HeadBlock = Block,
        ExpectedProfit = ExpectedProfit,
        Outcome = Outcome,
        BundleHash = BundleHash,
        CompetitorTx = CompetitorTx,
        LatencyMs = LatencyMs,
        Note = Note,
    };
}

/// <summary>Validates an outcome report; every error names the offending field.</summary>
internal static class OutcomeReportParser
{
    /// <summary>Parses the object itself or a one-element params array holding it.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> json, string? strategyHeader, out OutcomeReport? report, out string error)
    {
        report = null;
        if (json.IsEmpty)
        {
            error = "params: expected an outcome object {strategy, block, expectedProfit, outcome}";
            return false;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            error = "params: not valid JSON";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                if (root.GetArrayLength() != 1)
                {
                    error = "params: expected exactly one outcome object";
                    return false;
                }

                root = root[0];
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "params: expected an outcome object {strategy, block, expectedProfit, outcome}";
                return false;
            }

            return TryParseObject(root, strategyHeader, out report, out error);
        }
    }

    private static bool TryParseObject(JsonElement o, string? strategyHeader, out OutcomeReport? report, out string error)
    {
        report = null;
        foreach (var property in o.EnumerateObject())
        {
            if (property.Name is not ("strategy" or "block" or "expectedProfit" or "outcome" or "bundleHash" or "competitorTx" or "latencyMs" or "note" or "chain"))
            {
                error = $"{Safe(property.Name)}: unknown field (allowed: strategy, block, expectedProfit, outcome, bundleHash, competitorTx, latencyMs, note, chain)";
                return false;
            }
        }

        string? strategy = strategyHeader;
        if (o.TryGetProperty("strategy", out var s))
        {
            if (s.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(s.GetString()))
            {
                error = "strategy: must be a non-empty string";
                return false;
            }

            strategy = s.GetString();
        }

        if (string.IsNullOrWhiteSpace(strategy))
        {
            error = "strategy: required (or send the X-RpcShield-Strategy header)";
            return false;
        }

        if (strategy.Length > OutcomeReport.MaxStrategyLength)
        {
            error = $"strategy: longer than {OutcomeReport.MaxStrategyLength} characters";
            return false;
        }

        if (!o.TryGetProperty("block", out var b))
        {
            error = "block: required (block number, integer or 0x-hex)";
            return false;
        }

        if (!TryBlock(b, out var block))
        {
            error = "block: must be a non-negative integer or 0x-hex quantity";
            return false;
        }

        if (!o.TryGetProperty("expectedProfit", out var p))
        {
            error = "expectedProfit: required (number, e.g. in ETH)";
            return false;
        }

        if (!TryNumber(p, out var profit))
        {
            error = "expectedProfit: must be a finite number (or a decimal string)";
            return false;
        }

        if (!o.TryGetProperty("outcome", out var oc))
        {
            error = "outcome: required (one of succeeded, lost_to_competitor, rpc_failure, simulation_error, other)";
            return false;
        }

        var outcome = oc.ValueKind == JsonValueKind.String ? oc.GetString() : null;
        if (outcome is null || Array.IndexOf(OutcomeReport.Outcomes, outcome) < 0)
        {
            error = "outcome: must be one of succeeded, lost_to_competitor, rpc_failure, simulation_error, other";
            return false;
        }

        if (!TryHash(o, "bundleHash", out var bundleHash, out error) || !TryHash(o, "competitorTx", out var competitorTx, out error))
        {
            return false;
        }

        double? latency = null;
        if (o.TryGetProperty("latencyMs", out var l) && l.ValueKind != JsonValueKind.Null)
        {
            if (!TryNumber(l, out var value) || value < 0)
            {
                error = "latencyMs: must be a non-negative number";
                return false;
            }

            latency = value;
        }

        if (!TryOptionalString(o, "note", OutcomeReport.MaxNoteLength, out var note, out error)
            || !TryOptionalString(o, "chain", 64, out var chain, out error))
        {
            return false;
        }

        report = new OutcomeReport(strategy, block, profit, outcome, bundleHash, competitorTx, latency, note, chain);
        error = "";
        return true;
    }

    private static bool TryBlock(JsonElement e, out long block)
    {
        block = 0;
        if (e.ValueKind == JsonValueKind.Number)
        {
            return e.TryGetInt64(out block) && block >= 0;
        }

        if (e.ValueKind == JsonValueKind.String && e.GetString() is { } text)
        {
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                return JsonRpc.HexQuantity.TryParse(text, out block);
            }

            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out block);
        }

        return false;
    }

    private static bool TryNumber(JsonElement e, out double value)
    {
        value = 0;
        var ok = e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetDouble(out value),
            JsonValueKind.String => double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
        return ok && double.IsFinite(value);
    }

    private static bool TryHash(JsonElement o, string field, out string? hash, out string error)
    {
        hash = null;
        error = "";
        if (!o.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        var text = e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        if (text is null || text.Length != 66 || !text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || !text.AsSpan(2).ContainsOnlyHex())
        {
            error = $"{field}: must be a 32-byte 0x-hex hash";
            return false;
        }

        hash = text.ToLowerInvariant();
        return true;
    }

    private static bool TryOptionalString(JsonElement o, string field, int max, out string? value, out string error)
    {
        value = null;
        error = "";
        if (!o.TryGetProperty(field, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            error = $"{field}: must be a string";
            return false;
        }

        value = e.GetString();
        if (value!.Length > max)
        {
            error = $"{field}: longer than {max} characters";
            return false;
        }

        return true;
    }

    private static string Safe(string name) => name.Length <= 40 ? name : name[..40] + "…";
}

file static class HexExtensions
{
    public static bool ContainsOnlyHex(this ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
