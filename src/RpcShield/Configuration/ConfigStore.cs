using Microsoft.Extensions.Logging;

namespace RpcShield.Configuration;

/// <summary>
/// Holds the current validated <see cref="ProxyOptions"/> snapshot and reloads it when the file
/// changes. A bad reload keeps the last good snapshot and logs every error.
/// </summary>
internal sealed partial class ConfigStore : IDisposable
{
    private readonly string? _path;
    private readonly ILogger<ConfigStore> _logger;
    private readonly Func<string, string?> _environment;
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private volatile ProxyOptions _current;
    private int _reloading;

    public ConfigStore(ProxyOptions initial, string? path, ILogger<ConfigStore> logger, Func<string, string?>? environment = null)
    {
        _current = initial;
        _path = path is null ? null : Path.GetFullPath(path);
        _logger = logger;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    public ProxyOptions Current => _current;

    /// <summary>Raised after a valid new snapshot is published (old, new).</summary>
    public event Action<ProxyOptions, ProxyOptions>? Changed;

    /// <summary>Raised after every reload attempt with its result (`success` or `failure`).</summary>
    public event Action<string>? ReloadAttempted;

    public void StartWatching()
    {
        if (_path is null || _watcher is not null)
        {
            return;
        }

        _debounce = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler onChange = (_, _) => _debounce.Change(250, Timeout.Infinite);
        _watcher.Changed += onChange;
        _watcher.Created += onChange;
        _watcher.Renamed += (_, _) => _debounce.Change(250, Timeout.Infinite);
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Re-reads the file; returns the errors (empty when the new snapshot was applied).</summary>
    public IReadOnlyList<ConfigError> Reload()
    {
        if (_path is null)
        {
            return [];
        }

        if (Interlocked.Exchange(ref _reloading, 1) == 1)
        {
            return [];
        }

        try
        {
            var result = ConfigLoader.LoadFile(_path, _environment);
            if (!result.IsValid)
            {
                foreach (var error in result.Errors)
                {
                    LogReloadError(error.Path, error.Message);
                }

                LogReloadRejected(result.Errors.Count);
                ReloadAttempted?.Invoke("failure");
                return result.Errors;
            }

            Apply(result.Options!);
            return [];
        }
        finally
        {
            Volatile.Write(ref _reloading, 0);
        }
    }

    /// <summary>Publishes a validated snapshot (used by reload and by tests).</summary>
    public void Apply(ProxyOptions next)
    {
        var previous = Interlocked.Exchange(ref _current, next);
        LogReloaded(next.Chains.Count);
        ReloadAttempted?.Invoke("success");
        Changed?.Invoke(previous, next);
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Config reload: {Path}: {Message}")]
    private partial void LogReloadError(string path, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Config reload rejected ({Count} errors); keeping the last good configuration")]
    private partial void LogReloadRejected(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration applied ({Chains} chains)")]
    private partial void LogReloaded(int chains);
}
