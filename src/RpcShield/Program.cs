using RpcShield.Cli;

var args0 = new CommandLine(args);
try
{
    return args0.Verb switch
    {
        "run" => await RunCommands.RunAsync(args0, Console.Error),
        "check-config" => RunCommands.CheckConfig(args0, Console.Out),
        "sandbox" => await RpcShield.Sandbox.SandboxCommand.RunAsync(args0, Console.Error),
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

static int Usage()
{
    Console.Error.WriteLine("""
        usage: rpcshield [run] [--config proxy.yaml]
               rpcshield check-config [--config proxy.yaml]
               rpcshield sandbox [--config proxy.yaml]
               rpcshield report [--journal rpcshield.db] [--since 7d] [--format text|json]
               rpcshield chaos run EXPERIMENT.yaml [--report FILE]
        """);
    return 2;
}
