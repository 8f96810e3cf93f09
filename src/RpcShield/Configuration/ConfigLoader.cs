namespace RpcShield.Configuration;

/// <summary>Reads, binds and validates proxy.yaml.</summary>
internal static class ConfigLoader
{
    public static ConfigLoadResult LoadFile(string path, Func<string, string?>? environment = null)
    {
        string yaml;
        try
        {
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
        var options = YamlBinder.Bind<ProxyOptions>(yaml, environment ?? Environment.GetEnvironmentVariable, out var bindErrors);
        var errors = bindErrors.ToList();
        if (options is not null)
        {
            errors.AddRange(ConfigValidator.Validate(options));
        }

        return new ConfigLoadResult(errors.Count == 0 ? options : null, errors);
    }
}

internal sealed record ConfigLoadResult(ProxyOptions? Options, IReadOnlyList<ConfigError> Errors)
{
    public bool IsValid => Options is not null;
}
