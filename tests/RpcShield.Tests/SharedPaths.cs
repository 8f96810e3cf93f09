namespace RpcShield.Tests;

/// <summary>Locates the repository root and its `tests/data` (vectors, conformance corpus); nothing outside the repository is read.</summary>
internal static class SharedPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string TestData => Path.Combine(RepositoryRoot, "tests", "data");

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
