namespace RpcShield.Configuration;

/// <summary>Reads, binds and validates proxy.yaml.</summary>
internal static class ConfigLoader
{
    public static ConfigLoadResult LoadFile(string path, Func<string, string?>? environment = null)
    {
        string yaml;
        try
        {
            // The size is checked before the file is read: an oversized edit never reaches memory.
            if (YamlLimits.CheckSize(new FileInfo(path).Length) is { } tooLarge)
            {
                return new ConfigLoadResult(null, [tooLarge]);
            }

            yaml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ConfigLoadResult(null, [new ConfigError("(file)", $"cannot read: {ex.Message}")]);
        }

        return LoadText(yaml, environment);
    }

    public static ConfigLoadResult LoadText(string yaml, Func<string, string?>? environment = null)
    {
        var lookup = environment ?? Environment.GetEnvironmentVariable;
        var substituted = new List<string>();
        var options = YamlBinder.Bind<ProxyOptions>(yaml, name => lookup(name) is { } value ? Remember(substituted, value) : null, out var bindErrors);
        var errors = bindErrors.ToList();
        if (options is not null)
        {
            options = options with { EnvironmentValues = substituted };
            errors.AddRange(ConfigValidator.Validate(options));
        }

        return new ConfigLoadResult(errors.Count == 0 ? options : null, errors);
    }

    private static string Remember(List<string> values, string value)
    {
        values.Add(value);
        return value;
    }
}

internal sealed record ConfigLoadResult(ProxyOptions? Options, IReadOnlyList<ConfigError> Errors)
{
    public bool IsValid => Options is not null;
}
