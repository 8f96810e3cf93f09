namespace RpcShield.Hosting.Cli;

/// <summary>Tiny argument reader: a verb path followed by `--name value` options.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);

    public CommandLine(string[] args)
    {
        var positional = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                var name = args[i][2..];
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    _options[name[..eq]] = name[(eq + 1)..];
                }
                else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    _options[name] = args[++i];
                }
                else
                {
                    _options[name] = "true";
                }
            }
            else
            {
                positional.Add(args[i]);
            }
        }

        Positional = positional;
    }

    public IReadOnlyList<string> Positional { get; }

    public string Verb => Positional.Count > 0 ? Positional[0] : "run";

    public string? Option(string name) => _options.TryGetValue(name, out var value) ? value : null;

    public string ConfigPath => Option("config") ?? "proxy.yaml";
}
