using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace RpcShield.Configuration;

/// <summary>
/// Size and nesting limits checked before a YAML document is loaded. YamlDotNet builds its node
/// tree recursively (and the binder walks it recursively), so a file nested tens of thousands of
/// levels deep would overflow the stack and kill the process, a hot reload included. The event
/// parser used for this pre-scan keeps its own stack on the heap, so any depth is safe to count.
/// </summary>
internal static class YamlLimits
{
    /// <summary>Largest accepted configuration file (a real proxy.yaml is a few KiB).</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Deepest accepted nesting of mappings and sequences (block and flow; proxy.yaml needs about 8).</summary>
    public const int MaxDepth = 64;

    /// <summary>The size error, or null when the file may be read.</summary>
    public static ConfigError? CheckSize(long bytes) =>
        bytes > MaxBytes ? new ConfigError("(file)", $"too large: {bytes} bytes, the limit is {MaxBytes} bytes") : null;

    /// <summary>
    /// The size or nesting error, or null when the text may be loaded. Malformed YAML passes here:
    /// loading it reports the parser's error (the loader stops at the same place, within the limit).
    /// </summary>
    public static ConfigError? Check(string yaml)
    {
        if (CheckSize(yaml.Length) is { } tooLarge)
        {
            return tooLarge;
        }

        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case MappingStart or SequenceStart when ++depth > MaxDepth:
                        return new ConfigError($"line {parser.Current.Start.Line}", $"nested more than {MaxDepth} levels deep (mappings and sequences)");
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (YamlException)
        {
        }

        return null;
    }
}
