using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RpcShield.Bench;

/// <summary>nginx (Debian package) as a plain keep-alive reverse proxy: the bar RpcShield must beat.</summary>
internal sealed class NginxProxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _prefix;

    private NginxProxy(Process process, string prefix, int port)
    {
        _process = process;
        _prefix = prefix;
        Url = $"http://127.0.0.1:{port}/";
    }

    public string Url { get; }

    private static readonly string[] Candidates = ["/usr/sbin/nginx", "/usr/bin/nginx"];

    public static string? Binary => Candidates.FirstOrDefault(File.Exists);

    public static async Task<NginxProxy?> StartAsync(int upstreamPort)
    {
        if (Binary is not { } binary)
        {
            return null;
        }

        var port = ExtraHop.FreePort();
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
        var process = Process.Start(new ProcessStartInfo(binary, $"-p {prefix} -c {conf} -g \"daemon off;\"") { RedirectStandardError = true })!;
        for (var i = 0; i < 50; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return new NginxProxy(process, prefix, port);
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        process.Kill();
        return null;
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
