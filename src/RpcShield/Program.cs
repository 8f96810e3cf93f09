using RpcShield.Hosting.Cli;

var args0 = new CommandLine(args);
if (args0.Option("help") is not null || args0.Verb is "help" or "-h")
{
    // Asking for help must never start a server on :8545.
    return Usage(exitCode: 0);
}

try
{
    return args0.Verb switch
    {
        "run" => await RunCommands.RunAsync(args0, Console.Error),
        "check-config" => RunCommands.CheckConfig(args0, Console.Out),
        "sandbox" => await RunExtensionAsync("sandbox", args0),
        "report" => ReportCommand.Run(args0, Console.Out, Console.Error),
        "chaos" => await RpcShield.Chaos.Experiments.ChaosCommand.RunAsync(args0, Console.Out, Console.Error),
        _ => Usage(),
    };
}
catch (Exception ex) when (ex is IOException or InvalidOperationException)
{
    await Console.Error.WriteLineAsync($"rpcshield: {ex.Message}");
    return 1;
}

static async Task<int> RunExtensionAsync(string verb, CommandLine args)
{
    if (CommandExtensions.Find(verb) is { } extension)
    {
        return await extension.RunAsync(args, Console.Error);
    }

    await Console.Error.WriteLineAsync($"rpcshield: `{verb}` is not part of this build (RpcShield.{char.ToUpperInvariant(verb[0])}{verb[1..]}.dll is not beside RpcShield.dll); build src/RpcShield.{char.ToUpperInvariant(verb[0])}{verb[1..]} (scripts/sandbox.sh does)");
    return 1;
}

static int Usage(int exitCode = 2)
{
    Console.Error.WriteLine("""
        usage: rpcshield [run] [--config proxy.yaml]
               rpcshield check-config [--config proxy.yaml]
               rpcshield sandbox [--config proxy.yaml]
               rpcshield report [--journal rpcshield.db | --postgres "CS"] [--since 7d] [--format text|json]
               rpcshield chaos run EXPERIMENT.yaml [--report FILE]
        """);
    return exitCode;
}
