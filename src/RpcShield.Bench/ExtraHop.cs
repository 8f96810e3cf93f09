using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RpcShield.Bench;

/// <summary>nginx, HAProxy or Caddy (Debian packages) as a plain keep-alive reverse proxy, when installed: the comparison hops RpcShield is measured against.</summary>
internal sealed class ExtraHop : IAsyncDisposable
{
    private static readonly string[] NginxCandidates = ["/usr/sbin/nginx", "/usr/bin/nginx"];
    private static readonly string[] HaproxyCandidates = ["/usr/sbin/haproxy", "/usr/bin/haproxy"];
    private static readonly string[] CaddyCandidates = ["/usr/bin/caddy", "/usr/local/bin/caddy"];
    private readonly Process _process;
    private readonly string _prefix;

    private ExtraHop(string name, Process process, string prefix, int port)
    {
        Name = name;
        _process = process;
        _prefix = prefix;
        Url = $"http://127.0.0.1:{port}/";
    }

    public string Name { get; }

    public string Url { get; }

    public static string? NginxBinary => NginxCandidates.FirstOrDefault(File.Exists);

    /// <summary>The comparison hops that are installed, for the bench's banner.</summary>
    public static IEnumerable<string> Installed =>
        new[] { ("nginx", NginxCandidates), ("haproxy", HaproxyCandidates), ("caddy", CaddyCandidates) }.Where(h => h.Item2.Any(File.Exists)).Select(h => h.Item1);

    /// <summary>
    /// nginx, HAProxy and Caddy in front of the upstream on <paramref name="upstreamPort"/>, each when
    /// installed (<paramref name="nginxOnly"/>: nginx alone), in that order; the caller disposes them.
    /// </summary>
    public static async Task<List<ExtraHop>> StartAllAsync(int upstreamPort, bool nginxOnly = false)
    {
        var hops = new List<ExtraHop>();
        try
        {
            Func<int, Task<ExtraHop?>>[] starts = nginxOnly ? [StartNginxAsync] : [StartNginxAsync, StartHaproxyAsync, StartCaddyAsync];
            foreach (var start in starts)
            {
                if (await start(upstreamPort).ConfigureAwait(false) is { } hop)
                {
                    hops.Add(hop);
                }
            }
        }
        catch
        {
            await DisposeAllAsync(hops).ConfigureAwait(false);
            throw;
        }

        return hops;
    }

    public static async Task DisposeAllAsync(IEnumerable<ExtraHop> hops)
    {
        foreach (var hop in hops)
        {
            await hop.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>nginx: the bar RpcShield must beat.</summary>
    public static async Task<ExtraHop?> StartNginxAsync(int upstreamPort)
    {
        if (NginxBinary is not { } binary)
        {
            return null;
        }

        var port = FreePort();
        var prefix = Directory.CreateTempSubdirectory("rpcshield-bench-nginx").FullName;
        var conf = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(conf, $$"""
            worker_processes 2;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{prefix}}/body;
              proxy_temp_path {{prefix}}/proxy;
              upstream node { server 127.0.0.1:{{upstreamPort}}; keepalive 128; }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://node;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering on;
                }
              }
            }
            """).ConfigureAwait(false);
        return await StartAsync("nginx", binary, $"-p {prefix} -c {conf} -g \"daemon off;\"", prefix, port).ConfigureAwait(false);
    }

    public static async Task<ExtraHop?> StartHaproxyAsync(int upstreamPort)
    {
        var binary = HaproxyCandidates.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            return null;
        }

        var port = FreePort();
        var prefix = Directory.CreateTempSubdirectory("rpcshield-bench-haproxy").FullName;
        var conf = Path.Combine(prefix, "haproxy.cfg");
        await File.WriteAllTextAsync(conf, $"""
            global
              maxconn 8192
              nbthread 2
            defaults
              mode http
              timeout connect 5s
              timeout client 30s
              timeout server 30s
              option http-keep-alive
            frontend rpc
              bind 127.0.0.1:{port}
              default_backend node
            backend node
              http-reuse always
              server n 127.0.0.1:{upstreamPort}
            """ + "\n").ConfigureAwait(false); // HAProxy 2.6 refuses a config whose last line has no LF (a raw literal ends without one)
        return await StartAsync("haproxy", binary, $"-f {conf} -db", prefix, port).ConfigureAwait(false);
    }

    public static async Task<ExtraHop?> StartCaddyAsync(int upstreamPort)
    {
        var binary = CaddyCandidates.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            return null;
        }

        var port = FreePort();
        var prefix = Directory.CreateTempSubdirectory("rpcshield-bench-caddy").FullName;
        var conf = Path.Combine(prefix, "Caddyfile");
        await File.WriteAllTextAsync(conf, $$"""
            {
              admin off
              auto_https off
              storage file_system {{prefix}}
            }
            http://127.0.0.1:{{port}} {
              reverse_proxy 127.0.0.1:{{upstreamPort}}
            }
            """).ConfigureAwait(false);
        return await StartAsync("caddy", binary, $"run --config {conf} --adapter caddyfile", prefix, port).ConfigureAwait(false);
    }

    private static async Task<ExtraHop?> StartAsync(string name, string binary, string arguments, string prefix, int port)
    {
        var info = new ProcessStartInfo(binary, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.Environment["HOME"] = prefix;
        info.Environment["XDG_DATA_HOME"] = prefix;
        info.Environment["XDG_CONFIG_HOME"] = prefix;
        var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        for (var i = 0; i < 50; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return new ExtraHop(name, process, prefix, port);
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        // Say why there is no row for this hop (its exit code and what it wrote), instead of dropping it silently.
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync().ConfigureAwait(false);
        Console.Error.WriteLine($"{name} did not open 127.0.0.1:{port} within 5 s (exit code {process.ExitCode}): {(await errors.ConfigureAwait(false)).Trim()}");
        return null;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_prefix, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
