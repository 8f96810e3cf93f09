using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RpcShield.IntegrationTests.Upstreams;

/// <summary>
/// A raw TCP listener on 127.0.0.1:0 answering each request with scripted bytes, for HTTP shapes a
/// well-behaved server never produces on request (no length, cut bodies, interim 1xx, idle close).
/// Records every request head it read and how many connections it accepted.
/// </summary>
internal sealed class ScriptedHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, string, byte[]?> _answer;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private int _requests;
    private int _accepted;

    /// <param name="answer">(request number from 1, request head+body) → bytes to send, then the connection stays open; null closes it without answering.</param>
    /// <param name="closeAfterAnswer">Close the connection after each answer.</param>
    public ScriptedHttpServer(Func<int, string, byte[]?> answer, bool closeAfterAnswer = false)
    {
        _answer = answer;
        CloseAfterAnswer = closeAfterAnswer;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public bool CloseAfterAnswer { get; set; }

    /// <summary>Bytes sent once more on the connection right after the first answer (a late or stray answer).</summary>
    public byte[]? LateBytes { get; set; }

    /// <summary>Completes once <see cref="LateBytes"/> were sent.</summary>
    public TaskCompletionSource LateSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/rpc?key=1");

    public int Accepted => Volatile.Read(ref _accepted);

    public List<string> Requests { get; } = [];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var buffer = new byte[64 * 1024];
        var pending = "";
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                pending += Encoding.ASCII.GetString(buffer, 0, read);
                var headEnd = pending.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headEnd < 0)
                {
                    continue;
                }

                var lengthLine = pending[..headEnd].Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                var length = int.Parse(lengthLine["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                if (pending.Length < headEnd + 4 + length)
                {
                    continue;
                }

                var request = pending[..(headEnd + 4 + length)];
                pending = pending[request.Length..];
                int number;
                lock (Requests)
                {
                    Requests.Add(request);
                    number = ++_requests;
                }

                var answer = _answer(number, request);
                if (answer is null)
                {
                    return;
                }

                await socket.SendAsync(answer, SocketFlags.None, _stop.Token);
                if (number == 1 && LateBytes is { } late)
                {
                    await socket.SendAsync(late, SocketFlags.None, _stop.Token);
                    LateSent.TrySetResult();
                }

                if (CloseAfterAnswer)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (SocketException)
        {
        }
    }

    public static byte[] Response(string status, string body, params string[] headers) =>
        Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\n{string.Concat(headers.Select(h => h + "\r\n"))}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
