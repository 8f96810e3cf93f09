using RpcShield.Configuration;

namespace RpcShield.Features.Caching;

/// <summary>Semantic checks of `cache` and `chains[].cache`.</summary>
internal static class CacheOptionsValidator
{
    private const long MinBytes = 1L << 20;

    public static void Validate(CacheOptions options, string path, Action<string, string> error)
    {
        ValidateMaxBytes(options.MaxBytes, $"{path}.max_bytes", error);
        ValidateDepth(options.FinalityDepth, $"{path}.finality_depth", error);
    }

    public static void Validate(ChainCacheOptions? options, string path, Action<string, string> error)
    {
        if (options is null)
        {
            return;
        }

        if (options.MaxBytes is { } bytes)
        {
            ValidateMaxBytes(bytes, $"{path}.max_bytes", error);
        }

        if (options.FinalityDepth is { } depth)
        {
            ValidateDepth(depth, $"{path}.finality_depth", error);
        }

        foreach (var method in options.Methods.Keys)
        {
            if (string.IsNullOrWhiteSpace(method))
            {
                error($"{path}.methods", "method names must not be empty");
            }
        }
    }

    private static void ValidateMaxBytes(long bytes, string path, Action<string, string> error)
    {
        if (bytes < MinBytes)
        {
            error(path, "must be at least 1MiB");
        }
    }

    private static void ValidateDepth(int depth, string path, Action<string, string> error)
    {
        if (depth is < 1 or > 100_000)
        {
            error(path, "must be between 1 and 100000");
        }
    }
}
