using RpcShield.Configuration;

namespace RpcShield.Hosting.Cli;

/// <summary>
/// A verb of the `rpcshield` command contributed by an assembly shipped beside RpcShield.dll
/// (the sandbox). The proxy assembly names the verb but carries none of its code: a build without
/// the extension answers that verb with an explanation instead.
/// </summary>
public interface ICommandExtension
{
    /// <summary>The verb (`sandbox`).</summary>
    string Verb { get; }

    /// <summary>Runs the verb; the process exit code.</summary>
    Task<int> RunAsync(CommandLine args, TextWriter errors);

    /// <summary>Semantic checks of the extension's own `proxy.yaml` section, by key path.</summary>
    void Validate(ProxyOptions options, Action<string, string> report);
}
