using System.Collections;
using System.Reflection;
using RpcShield.Configuration;

namespace RpcShield.Tests.Docs;

/// <summary>The README stays a front door, and the configuration reference names every key the binder accepts.</summary>
public sealed class DocumentationTests
{
    [Fact]
    public void The_readme_stays_under_12_KB()
    {
        var bytes = new FileInfo(Path.Combine(SharedPaths.RepositoryRoot, "README.md")).Length;
        Assert.True(bytes < 12 * 1024, $"README.md is {bytes} bytes: move detail into docs/ and link it");
    }

    [Fact]
    public void The_configuration_reference_names_every_key_of_the_options_model()
    {
        var reference = File.ReadAllText(Path.Combine(SharedPaths.RepositoryRoot, "docs", "configuration.md"));
        var keys = new List<string>();
        Walk(typeof(ProxyOptions), "", keys);

        Assert.True(keys.Count > 100, $"only {keys.Count} keys found: the walk is broken");
        var missing = keys.Where(k => !reference.Contains($"`{k}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "docs/configuration.md lacks (run scripts/config-reference.py): " + string.Join(", ", missing));
    }

    private static void Walk(Type type, string prefix, List<string> keys)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = prefix + YamlBinder.ToSnake(property.Name);
            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (target.IsGenericType && typeof(IList).IsAssignableFrom(target) && IsOptions(target.GetGenericArguments()[0]))
            {
                // A list of sections is documented as `name[]`, its keys as `name[].key`.
                keys.Add(key + "[]");
                Walk(target.GetGenericArguments()[0], key + "[].", keys);
                continue;
            }

            keys.Add(key);
            if (IsOptions(target))
            {
                Walk(target, key + ".", keys);
            }
        }
    }

    private static bool IsOptions(Type type) => type.IsClass && type != typeof(string) && type.Namespace == typeof(ProxyOptions).Namespace;
}
