using RpcShield.Hosting.Cli;
using RpcShield.Configuration;

[assembly: CommandExtension(typeof(RpcShield.Sandbox.SandboxExtension))]

namespace RpcShield.Sandbox;

/// <summary>Plugs `rpcshield sandbox` and the `sandbox:` section's checks into the RpcShield command.</summary>
internal sealed class SandboxExtension : ICommandExtension
{
    public string Verb => "sandbox";

    public Task<int> RunAsync(CommandLine args, TextWriter errors) => SandboxCommand.RunAsync(args, errors);

    public void Validate(ProxyOptions options, Action<string, string> report)
    {
        if (options.Sandbox is not null)
        {
            SandboxOptionsValidator.Validate(options.Sandbox, options.Server.Listen, report);
        }
    }
}
