namespace RpcShield.Sandbox;

/// <summary>
/// Finds the anvil binary: `RPCSHIELD_ANVIL`, then `.tools/anvil` in the application directory or any
/// directory above it (the repository root when run from bin/), then above the working directory, then PATH.
/// </summary>
internal static class AnvilLocator
{
    public const string EnvironmentVariable = "RPCSHIELD_ANVIL";

    public static string? Find(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (environment(EnvironmentVariable) is { Length: > 0 } fromEnv && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, ".tools", "anvil");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        foreach (var dir in (environment("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "anvil");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
