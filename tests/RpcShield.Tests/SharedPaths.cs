namespace RpcShield.Tests;

/// <summary>Locates `../shared` (vectors, conformance corpus) beside the repository at test time.</summary>
internal static class SharedPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));

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
