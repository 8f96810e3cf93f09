using System.Globalization;

namespace RpcShield.DemoBot;

/// <summary>Command line of the demo bot.</summary>
internal sealed record BotOptions
{
    /// <summary>anvil's dev account #1 (well known, sandbox only; never use it on a real chain).</summary>
    public const string DefaultKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    public Uri Rpc { get; init; } = new("http://127.0.0.1:8545/");
    public TimeSpan? Duration { get; init; }
    public int ReadsPerSecond { get; init; } = 20;
    public decimal TipEther { get; init; } = 0.001m;
    public string Key { get; init; } = DefaultKey;
    public bool Chaos { get; init; } = true;
    /// <summary>Every Nth bundle races a same-nonce public transaction with a higher fee (0 = never).</summary>
    public int CompeteEvery { get; init; } = 7;
    /// <summary>Exit 1 when no bundle landed (CI smoke runs).</summary>
    public bool RequireLanded { get; init; }

    public static BotOptions? Parse(string[] args, TextWriter errors)
    {
        var options = new BotOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                options = args[i] switch
                {
                    "--rpc" => options with { Rpc = new Uri(Value().TrimEnd('/') + "/") },
                    "--duration" => options with { Duration = ParseDuration(Value()) },
                    "--reads-per-second" => options with { ReadsPerSecond = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--tip" => options with { TipEther = decimal.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--key" => options with { Key = Value() },
                    "--no-chaos" => options with { Chaos = false },
                    "--compete-every" => options with { CompeteEvery = int.Parse(Value(), CultureInfo.InvariantCulture) },
                    "--require-landed" => options with { RequireLanded = true },
                    "-h" or "--help" => null,
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException or UriFormatException)
            {
                errors.WriteLine($"demo-bot: {ex.Message}");
                options = null;
            }

            if (options is null)
            {
                errors.WriteLine("""
                    usage: RpcShield.DemoBot [--rpc http://127.0.0.1:8545] [--duration 30s] [--reads-per-second 20]
                                             [--tip 0.001] [--compete-every 7] [--no-chaos] [--require-landed] [--key 0x…]
                    """);
                return null;
            }
        }

        return options;
    }

    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text, 1.0);
        return TimeSpan.FromSeconds(double.Parse(number, CultureInfo.InvariantCulture) * unit);
    }
}
