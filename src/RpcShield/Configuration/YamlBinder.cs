using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RpcShield.Configuration;

/// <summary>
/// Binds a YAML document onto the options model, collecting every error with its key path
/// (unknown keys, wrong types, bad durations, missing environment variables) instead of
/// stopping at the first, so `check-config` can list them all.
/// </summary>
internal sealed partial class YamlBinder
{
    private readonly Func<string, string?> _environment;
    private readonly List<ConfigError> _errors = [];

    public YamlBinder(Func<string, string?> environment) => _environment = environment;

    public IReadOnlyList<ConfigError> Errors => _errors;

    public static T? Bind<T>(string yaml, Func<string, string?> environment, out IReadOnlyList<ConfigError> errors)
        where T : class, new()
    {
        var binder = new YamlBinder(environment);
        var result = binder.BindDocument<T>(yaml);
        errors = binder.Errors;
        return result;
    }

    /// <summary>
    /// Binds one top-level section alone (`rpcshield report` reads only `journal`): the rest of the
    /// file is neither bound nor validated, so its `${VAR}`s need not be set. An absent section is the default.
    /// </summary>
    public static T? BindSection<T>(string yaml, string key, Func<string, string?> environment, out IReadOnlyList<ConfigError> errors)
        where T : class, new()
    {
        var binder = new YamlBinder(environment);
        errors = binder.Errors;
        if (binder.BindDocument<YamlMappingNode>(yaml) is not { } root)
        {
            return null;
        }

        return root.Children.TryGetValue(new YamlScalarNode(key), out var section) ? (T?)binder.BindValue(section, typeof(T), key) : new T();
    }

    private T? BindDocument<T>(string yaml) where T : class, new()
    {
        var stream = new YamlStream();
        // `${VAR}` is not a valid plain scalar inside flow mappings (`{ key: ${VAR} }`), so it is
        // parked as a YAML-safe placeholder and substituted per scalar after parsing.
        var parked = VariablePattern().Replace(yaml, Placeholder + "$1__");
        if (YamlLimits.Check(parked) is { } limit)
        {
            _errors.Add(limit);
            return null;
        }

        try
        {
            stream.Load(new StringReader(parked));
        }
        catch (YamlException ex)
        {
            _errors.Add(new ConfigError($"line {ex.Start.Line}", $"invalid YAML: {ex.Message}"));
            return null;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            _errors.Add(new ConfigError("(root)", "expected a mapping at the top of the file"));
            return null;
        }

        // BindSection asks for the parsed root itself.
        return typeof(T) == typeof(YamlMappingNode) ? (T)(object)root : (T?)BindValue(root, typeof(T), "");
    }

    private object? BindValue(YamlNode node, Type type, string path)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
        {
            if (node is YamlScalarNode { Value: null or "" or "~" or "null" } && node is YamlScalarNode s0 && s0.Style == ScalarStyle.Plain)
            {
                return null;
            }

            type = underlying;
        }

        if (type == typeof(string) || type.IsPrimitive || type == typeof(TimeSpan) || type == typeof(decimal))
        {
            if (node is not YamlScalarNode scalar)
            {
                Error(path, $"expected a value, found a {Describe(node)}");
                return null;
            }

            return ConvertScalar(Substitute(scalar.Value ?? "", path), type, path);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var itemType = type.GetGenericArguments()[0];
            var list = (IList)Activator.CreateInstance(type)!;
            if (node is not YamlSequenceNode sequence)
            {
                Error(path, $"expected a list, found a {Describe(node)}");
                return list;
            }

            var i = 0;
            foreach (var child in sequence.Children)
            {
                var item = BindValue(child, itemType, $"{path}[{i++}]");
                if (item is not null)
                {
                    list.Add(item);
                }
            }

            return list;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var valueType = type.GetGenericArguments()[1];
            var dictionary = (IDictionary)Activator.CreateInstance(type)!;
            if (node is not YamlMappingNode mapping)
            {
                Error(path, $"expected a mapping, found a {Describe(node)}");
                return dictionary;
            }

            foreach (var (key, value) in mapping.Children)
            {
                var name = ((YamlScalarNode)key).Value ?? "";
                var bound = BindValue(value, valueType, Join(path, name));
                if (bound is not null)
                {
                    dictionary[name] = bound;
                }
            }

            return dictionary;
        }

        return BindObject(node, type, path);
    }

    private object? BindObject(YamlNode node, Type type, string path)
    {
        if (node is not YamlMappingNode mapping)
        {
            Error(path, $"expected a mapping, found a {Describe(node)}");
            return null;
        }

        var target = Activator.CreateInstance(type)!;
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var keyPath = Join(path, key);
            var property = FindProperty(type, key);
            if (property is null)
            {
                Error(keyPath, "unknown key");
                continue;
            }

            var value = BindValue(valueNode, property.PropertyType, keyPath);
            if (value is not null || Nullable.GetUnderlyingType(property.PropertyType) is not null || !property.PropertyType.IsValueType)
            {
                if (value is not null || IsExplicitNull(valueNode))
                {
                    property.SetValue(target, value);
                }
            }
        }

        return target;
    }

    private static bool IsExplicitNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    private static PropertyInfo? FindProperty(Type type, string key)
    {
        var pascal = new StringBuilder();
        foreach (var part in key.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            pascal.Append(char.ToUpperInvariant(part[0])).Append(part.AsSpan(1));
        }

        var property = type.GetProperty(pascal.ToString(), BindingFlags.Public | BindingFlags.Instance);
        // Keys are snake_case only: `maxBodyBytes` must not bind silently.
        return property is not null && ToSnake(property.Name) == key ? property : null;
    }

    internal static string ToSnake(string pascal)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0)
            {
                sb.Append('_');
            }

            sb.Append(char.ToLowerInvariant(pascal[i]));
        }

        return sb.ToString();
    }

    private object? ConvertScalar(string? text, Type type, string path)
    {
        if (text is null)
        {
            return null;
        }

        if (type == typeof(string))
        {
            return text;
        }

        if (type == typeof(TimeSpan))
        {
            if (DurationParser.TryParse(text, out var duration))
            {
                return duration;
            }

            Error(path, $"'{text}' is not a duration (use e.g. 250ms, 2s, 5m, 1h)");
            return null;
        }

        if (type == typeof(bool))
        {
            if (bool.TryParse(text, out var b))
            {
                return b;
            }

            Error(path, $"'{text}' is not true or false");
            return null;
        }

        if (type == typeof(int) || type == typeof(long))
        {
            if (long.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                && (type == typeof(long) || l is >= int.MinValue and <= int.MaxValue))
            {
                return type == typeof(int) ? (object)(int)l : l;
            }

            // Keys ending in `_bytes` are sizes: `64MiB` as well as a plain byte count.
            if (path.EndsWith("_bytes", StringComparison.Ordinal) && SizeParser.TryParse(text, out var size)
                && (type == typeof(long) || size <= int.MaxValue))
            {
                return type == typeof(int) ? (object)(int)size : size;
            }

            Error(path, path.EndsWith("_bytes", StringComparison.Ordinal)
                ? $"'{text}' is not a size (use a byte count or e.g. 512KiB, 64MiB, 1GiB)"
                : $"'{text}' is not a whole number");
            return null;
        }

        if (type == typeof(double))
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            {
                return d;
            }

            Error(path, $"'{text}' is not a number");
            return null;
        }

        Error(path, $"unsupported type {type.Name}");
        return null;
    }

    /// <summary>Replaces `${VAR}` with the environment value; a missing variable is an error.</summary>
    private string? Substitute(string text, string path)
    {
        if (!text.Contains(Placeholder, StringComparison.Ordinal))
        {
            return text;
        }

        var missing = false;
        var result = PlaceholderPattern().Replace(text, match =>
        {
            var name = match.Groups[1].Value;
            var value = _environment(name);
            if (value is null)
            {
                Error(path, $"environment variable {name} is not set");
                missing = true;
                return "";
            }

            return value;
        });
        return missing ? null : result;
    }

    private void Error(string path, string message) => _errors.Add(new ConfigError(path.Length == 0 ? "(root)" : path, message));

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "value",
    };

    private const string Placeholder = "__RPCSHIELD_ENV_";

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex VariablePattern();

    [GeneratedRegex(@"__RPCSHIELD_ENV_([A-Za-z_][A-Za-z0-9_]*?)__")]
    private static partial Regex PlaceholderPattern();
}

/// <summary>One configuration problem, located by its key path (e.g. `chains[0].upstreams[1].url`).</summary>
internal sealed record ConfigError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}
