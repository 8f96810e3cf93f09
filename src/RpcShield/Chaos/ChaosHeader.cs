using System.Globalization;
using RpcShield.Configuration;

namespace RpcShield.Chaos;

/// <summary>
/// Parses the per-request `X-RpcShield-Chaos` header into a client-scope rule named `header`:
/// `fault=http_500;rate=0.5`, `latency=100ms`, `fault=jsonrpc_error;code=-32000;message=boom`,
/// `fault=stale_head;blocks=5`, optional `methods=eth_call|eth_get*`. Clamped to the caps.
/// </summary>
internal static class ChaosHeader
{
    public const string Name = "X-RpcShield-Chaos";

    public static ChaosRule? Parse(string? value, ChaosOptions caps)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 512)
        {
            return null;
        }

        var options = new ChaosRuleOptions { Name = "header", Scope = "client", Fault = "" };
        foreach (var part in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return null;
            }

            var key = part[..eq].Trim().ToLowerInvariant();
            var text = part[(eq + 1)..].Trim();
            switch (key)
            {
                case "fault":
                    options = options with { Fault = text };
                    break;
                case "rate" when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate):
                    options = options with { Rate = rate };
                    break;
                case "latency":
                    options = options with { Latency = text };
                    break;
                case "code" when int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code):
                    options = options with { ErrorCode = code };
                    break;
                case "message":
                    options = options with { ErrorMessage = text };
                    break;
                case "blocks" when int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var blocks):
                    options = options with { StaleBlocks = blocks };
                    break;
                case "methods":
                    options = options with { Methods = [.. text.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] };
                    break;
                default:
                    return null;
            }
        }

        if (options.Fault.Length == 0)
        {
            options = options with { Fault = options.Latency is null ? "" : "latency" };
        }

        var rule = ChaosRule.From(options, "header", null, out _);
        return rule is null || rule.Scope != ChaosScope.Client ? null : rule.Clamp(caps);
    }
}
