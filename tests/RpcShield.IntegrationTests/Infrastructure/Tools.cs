namespace RpcShield.IntegrationTests.Infrastructure;

/// <summary>Finds the repository root and the tools scripts/install-deps.sh installs.</summary>
internal static class Tools
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>`tests/data` in the repository (conformance corpus, vectors); nothing outside the repository is read.</summary>
    public static string TestDataDirectory => Path.Combine(RepositoryRoot, "tests", "data");

    public static string Anvil
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("RPCSHIELD_ANVIL");
            if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
            {
                return fromEnv;
            }

            var local = Path.Combine(RepositoryRoot, ".tools", "anvil");
            if (File.Exists(local))
            {
                return local;
            }

            throw new InvalidOperationException("anvil not found: run scripts/install-deps.sh (or set RPCSHIELD_ANVIL)");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RpcShield.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("RpcShield.sln not found above the test directory");
    }
}
