using RpcShield.Configuration;

namespace RpcShield.Hosting.Cli;

/// <summary>`run` and `check-config`.</summary>
internal static class RunCommands
{
    public static int CheckConfig(CommandLine args, TextWriter output)
    {
        var result = ConfigLoader.LoadFile(args.ConfigPath);
        if (result.IsValid)
        {
            output.WriteLine($"{args.ConfigPath}: OK ({result.Options!.Chains.Count} chain(s), {result.Options.Chains.Sum(c => c.Upstreams.Count)} upstream(s))");
            return 0;
        }

        foreach (var error in result.Errors)
        {
            output.WriteLine($"{args.ConfigPath}: {error}");
        }

        output.WriteLine($"{result.Errors.Count} error(s)");
        return 1;
    }

    /// <summary>Loads the config (refusing to start on any error) and serves until stopped.</summary>
    public static async Task<int> RunAsync(CommandLine args, TextWriter errors, HostSettings? settings = null)
    {
        if (await LoadForStartAsync(args, errors).ConfigureAwait(false) is not { } options)
        {
            return 1;
        }

        await using var app = RpcShieldHost.Build(options, args.ConfigPath, settings);
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>The validated config, or null after printing every error (a bad first load refuses to start).</summary>
    public static async Task<ProxyOptions?> LoadForStartAsync(CommandLine args, TextWriter errors)
    {
        var result = ConfigLoader.LoadFile(args.ConfigPath);
        if (result.IsValid)
        {
            return result.Options;
        }

        foreach (var error in result.Errors)
        {
            await errors.WriteLineAsync($"{args.ConfigPath}: {error}").ConfigureAwait(false);
        }

        await errors.WriteLineAsync("refusing to start: fix the configuration (rpcshield check-config lists every error)").ConfigureAwait(false);
        return null;
    }
}
