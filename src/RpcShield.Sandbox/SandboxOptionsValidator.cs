using System.Text.RegularExpressions;
using RpcShield.Configuration;

namespace RpcShield.Sandbox;

/// <summary>Semantic checks of the `sandbox:` section.</summary>
internal static partial class SandboxOptionsValidator
{
    public static void Validate(SandboxOptions sandbox, string listen, Action<string, string> error)
    {
        if (sandbox.Slot < TimeSpan.FromMilliseconds(200))
        {
            error("sandbox.slot", "must be at least 200ms");
        }

        Port(sandbox.AnvilPort, "sandbox.anvil_port", error);
        var ports = new Dictionary<int, string>();
        if (Uri.TryCreate(listen, UriKind.Absolute, out var listenUri) && listenUri.Port > 0)
        {
            ports[listenUri.Port] = "server.listen";
        }

        void Claim(int port, string path)
        {
            if (port == 0)
            {
                return;
            }

            if (port == sandbox.AnvilPort || !ports.TryAdd(port, path))
            {
                error(path, $"port {port} is already used by {(port == sandbox.AnvilPort ? "sandbox.anvil_port" : ports[port])}");
            }
        }

        for (var i = 0; i < sandbox.Nodes.Count; i++)
        {
            var node = sandbox.Nodes[i];
            var path = $"sandbox.nodes[{i}]";
            Name(node.Name, $"{path}.name", error);
            Port(node.Port, $"{path}.port", error);
            Claim(node.Port, $"{path}.port");
            if (node.Latency < TimeSpan.Zero)
            {
                error($"{path}.latency", "must not be negative");
            }
        }

        for (var i = 0; i < sandbox.Builders.Count; i++)
        {
            var builder = sandbox.Builders[i];
            var path = $"sandbox.builders[{i}]";
            Name(builder.Name, $"{path}.name", error);
            Port(builder.Port, $"{path}.port", error);
            Claim(builder.Port, $"{path}.port");
            if (builder.Weight < 0 || double.IsNaN(builder.Weight))
            {
                error($"{path}.weight", "must be 0 or positive");
            }

            if (!Address().IsMatch(builder.Coinbase))
            {
                error($"{path}.coinbase", "must be a 20-byte hex address");
            }
        }

        foreach (var duplicate in sandbox.Nodes.Select(n => n.Name).Concat(sandbox.Builders.Select(b => b.Name))
                     .Where(n => n.Length > 0).GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            error("sandbox", $"duplicate node/builder name '{duplicate.Key}'");
        }
    }

    private static void Name(string name, string path, Action<string, string> error)
    {
        if (!SafeName().IsMatch(name))
        {
            error(path, "is required: letters, digits, '-' or '_'");
        }
    }

    private static void Port(int port, string path, Action<string, string> error)
    {
        if (port is < 0 or > 65535)
        {
            error(path, "must be a TCP port (0 = ephemeral)");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex SafeName();

    [GeneratedRegex("^0x[0-9a-fA-F]{40}$")]
    private static partial Regex Address();
}
