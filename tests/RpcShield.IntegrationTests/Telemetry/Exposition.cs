using System.Globalization;
using System.Text.RegularExpressions;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>Reads samples out of Prometheus text exposition.</summary>
internal static partial class Exposition
{
    /// <summary>Every sample of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public static IReadOnlyList<(Dictionary<string, string> Labels, double Value)> Samples(string text, string name, params (string Key, string Value)[] labels)
    {
        var result = new List<(Dictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line.TrimEnd('\r'));
            if (!match.Success || match.Groups["name"].Value != name)
            {
                continue;
            }

            var set = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            if (labels.All(l => set.TryGetValue(l.Key, out var v) && v == l.Value))
            {
                result.Add((set, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
            }
        }

        return result;
    }

    public static double Sum(string text, string name, params (string Key, string Value)[] labels) => Samples(text, name, labels).Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(\w+)="((?:[^"\\]|\\.)*)"?""")]
    private static partial Regex LabelPair();
}
