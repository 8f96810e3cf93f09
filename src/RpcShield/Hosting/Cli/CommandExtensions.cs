using System.Reflection;
using System.Runtime.Loader;

namespace RpcShield.Hosting.Cli;

/// <summary>
/// The extensions found beside RpcShield.dll, loaded once. Only the assemblies named here are
/// looked for (nothing else in the folder is loaded): `RpcShield.Sandbox.dll` ships with a source
/// build (scripts/sandbox.sh) and is absent from a production publish of src/RpcShield.
/// </summary>
internal static class CommandExtensions
{
    private static readonly string[] KnownAssemblies = ["RpcShield.Sandbox"];

    private static readonly Lazy<IReadOnlyList<ICommandExtension>> Loaded = new(Load);

    public static IReadOnlyList<ICommandExtension> All => Loaded.Value;

    public static ICommandExtension? Find(string verb) => All.FirstOrDefault(e => e.Verb == verb);

    private static List<ICommandExtension> Load()
    {
        var found = new List<ICommandExtension>();
        foreach (var name in KnownAssemblies)
        {
            if (LoadAssembly(name) is not { } assembly)
            {
                continue;
            }

            foreach (var attribute in assembly.GetCustomAttributes<CommandExtensionAttribute>())
            {
                found.Add((ICommandExtension)Activator.CreateInstance(attribute.Extension)!);
            }
        }

        return found;
    }

    private static Assembly? LoadAssembly(string name)
    {
        // Already loaded (a test or host that references the extension project directly).
        var loaded = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == name);
        if (loaded is not null)
        {
            return loaded;
        }

        var path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        return File.Exists(path) ? AssemblyLoadContext.Default.LoadFromAssemblyPath(path) : null;
    }
}
