using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;

namespace RpcShield.IntegrationTests.Upstreams;

/// <summary>
/// The lean HTTP/1.1 upstream client against real Kestrel (content-length, chunked, close) and a
/// scripted TCP server for the shapes Kestrel does not produce (no length, 1xx, cut bodies, idle close).
/// </summary>
public sealed class Http1TransportTests
{
    private static readonly byte[] Call = """{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"""u8.ToArray();
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Keeps_one_connection_alive_across_requests_and_passes_the_body_through()
    {
        var connections = new HashSet<string>();
        await using var node = await FakeServer.StartAsync(app => app.MapPost("/rpc", async (HttpContext context) =>
        {
            lock (connections)
            {
                connections.Add(context.Connection.Id);
            }

            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body.Replace("eth_blockNumber", "echo", StringComparison.Ordinal));
        }));
        using var transport = new Http1Transport(new Uri(node.Url + "/rpc"), ConnectTimeout);

        for (var i = 0; i < 5; i++)
        {
            using var buffer = new PooledBuffer();
            var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

            Assert.Equal(200, response.StatusCode);
            Assert.False(response.TooLarge);
            Assert.Equal("""{"jsonrpc":"2.0","id":1,"method":"echo","params":[]}""", Encoding.UTF8.GetString(buffer.Span));
        }

        Assert.Single(connections);
        Assert.Equal(1, transport.IdleConnections);
    }

    [Fact]
    public async Task Reassembles_a_chunked_body_of_many_chunks()
    {
        var expected = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i:x8},"));
        await using var node = await FakeServer.StartAsync(app => app.MapPost("/rpc", async (HttpContext context) =>
        {
            // No Content-Length and several flushes: Kestrel answers chunked, one chunk per flush.
            for (var at = 0; at < expected.Length; at += 7_001)
            {
                await context.Response.WriteAsync(expected.Substring(at, Math.Min(7_001, expected.Length - at)));
                await context.Response.Body.FlushAsync();
            }
        }));
        using var transport = new Http1Transport(new Uri(node.Url + "/rpc"), ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);
        using var again = new PooledBuffer();
        var second = await transport.PostAsync(Call, again, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer.Span));
        Assert.Equal(expected, Encoding.ASCII.GetString(again.Span));
        Assert.Equal(1, transport.IdleConnections);
    }

    [Fact]
    public async Task Reads_small_chunks_and_a_head_larger_than_the_connection_buffer()
    {
        var chunks = Enumerable.Range(0, 300).Select(i => $"{{\"n\":{i}}}").ToArray();
        var wire = new StringBuilder("HTTP/1.1 200 OK\r\nX-Padding: ").Append('p', 10_000).Append("\r\nTransfer-Encoding: chunked\r\n\r\n");
        foreach (var chunk in chunks)
        {
            wire.Append($"{chunk.Length:x};ext=1\r\n{chunk}\r\n");
        }

        wire.Append("0\r\nX-Trailer: t\r\n\r\n");
        await using var node = new ScriptedHttpServer((_, _) => Encoding.ASCII.GetBytes(wire.ToString()));
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(string.Concat(chunks), Encoding.ASCII.GetString(buffer.Span));
        Assert.Equal(1, transport.IdleConnections);
    }

    [Fact]
    public async Task Sends_a_well_formed_request_head_with_path_query_host_and_length()
    {
        await using var node = new ScriptedHttpServer((_, _) => ScriptedHttpServer.Response("200 OK", """{"jsonrpc":"2.0","id":1,"result":"0x1"}"""));
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

        var request = Assert.Single(node.Requests);
        var lines = request.Split("\r\n");
        Assert.Equal("POST /rpc?key=1 HTTP/1.1", lines[0]);
        Assert.Contains($"Host: 127.0.0.1:{node.Url.Port}", lines);
        Assert.Contains("Content-Type: application/json", lines);
        Assert.Contains($"Content-Length: {Call.Length}", lines);
        Assert.EndsWith(Encoding.UTF8.GetString(Call), request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sends_a_body_larger_than_its_buffer_whole()
    {
        var big = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_call\",\"params\":[\"" + new string('a', 100_000) + "\"]}");
        await using var node = new ScriptedHttpServer((_, request) => ScriptedHttpServer.Response("200 OK", request.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        await transport.PostAsync(big, buffer, 1 << 20, CancellationToken.None);

        Assert.EndsWith(Encoding.UTF8.GetString(big), Assert.Single(node.Requests), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_close_is_honoured_and_the_next_request_opens_a_new_connection()
    {
        await using var node = new ScriptedHttpServer((n, _) => ScriptedHttpServer.Response("200 OK", $"{n}", "Connection: close"), closeAfterAnswer: true);
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var first = new PooledBuffer();
        await transport.PostAsync(Call, first, 1 << 20, CancellationToken.None);
        Assert.Equal(0, transport.IdleConnections);
        using var second = new PooledBuffer();
        await transport.PostAsync(Call, second, 1 << 20, CancellationToken.None);

        Assert.Equal("1", Encoding.ASCII.GetString(first.Span));
        Assert.Equal("2", Encoding.ASCII.GetString(second.Span));
        Assert.Equal(2, node.Accepted);
    }

    [Fact]
    public async Task A_body_without_length_runs_to_the_end_of_the_connection()
    {
        await using var node = new ScriptedHttpServer((_, _) => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"result\":\"0x1\"}"u8.ToArray(), closeAfterAnswer: true);
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("""{"result":"0x1"}""", Encoding.ASCII.GetString(buffer.Span));
        Assert.Equal(0, transport.IdleConnections);
    }

    [Fact]
    public async Task Interim_1xx_answers_are_skipped()
    {
        await using var node = new ScriptedHttpServer((_, _) => Encoding.ASCII.GetBytes("HTTP/1.1 100 Continue\r\n\r\n").Concat(ScriptedHttpServer.Response("200 OK", "ok")).ToArray());
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("ok", Encoding.ASCII.GetString(buffer.Span));
    }

    [Fact]
    public async Task A_keep_alive_connection_the_node_closed_while_idle_is_not_reused()
    {
        // Answers keep-alive (no Connection: close) and then closes anyway, as an idle timeout does.
        await using var node = new ScriptedHttpServer((n, _) => ScriptedHttpServer.Response("200 OK", $"{n}"), closeAfterAnswer: true);
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var first = new PooledBuffer();
        await transport.PostAsync(Call, first, 1 << 20, CancellationToken.None);
        using var second = new PooledBuffer();
        var response = await transport.PostAsync(Call, second, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("2", Encoding.ASCII.GetString(second.Span));
        Assert.Equal(2, node.Accepted);
        Assert.Equal(2, node.Requests.Count);
    }

    [Fact]
    public async Task A_late_answer_on_an_idle_connection_never_reaches_the_next_request()
    {
        await using var node = new ScriptedHttpServer((n, _) => ScriptedHttpServer.Response("200 OK", $"{n}"))
        {
            LateBytes = ScriptedHttpServer.Response("408 Request Timeout", "late", "Connection: close"),
        };
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var first = new PooledBuffer();
        await transport.PostAsync(Call, first, 1 << 20, CancellationToken.None);
        await node.LateSent.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var second = new PooledBuffer();
        var response = await transport.PostAsync(Call, second, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("2", Encoding.ASCII.GetString(second.Span));
        Assert.Equal(2, node.Accepted);
    }

    [Fact]
    public async Task A_node_that_took_the_request_and_died_is_reported_not_asked_twice()
    {
        // Request 2 is read, then the connection closes without an answer.
        await using var node = new ScriptedHttpServer((n, _) => n == 2 ? null : ScriptedHttpServer.Response("200 OK", $"{n}"));
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var first = new PooledBuffer();
        await transport.PostAsync(Call, first, 1 << 20, CancellationToken.None);
        using var second = new PooledBuffer();
        var error = await Assert.ThrowsAsync<HttpIOException>(async () => await transport.PostAsync(Call, second, 1 << 20, CancellationToken.None));

        Assert.Equal("http_io_responseended", FailureClassifier.Describe(error).Reason);
        Assert.Equal(2, node.Requests.Count);
    }

    [Fact]
    public async Task A_body_cut_short_is_a_transport_failure_named_response_ended()
    {
        await using var node = new ScriptedHttpServer((_, _) => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\""u8.ToArray(), closeAfterAnswer: true);
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var error = await Assert.ThrowsAsync<HttpIOException>(async () => await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None));

        Assert.Equal("http_io_responseended", FailureClassifier.Describe(error).Reason);
        Assert.Equal(0, transport.IdleConnections);
    }

    [Fact]
    public async Task A_host_name_is_resolved_and_its_addresses_tried_in_turn()
    {
        // The node listens on 127.0.0.1 only; `localhost` may resolve to ::1 first.
        await using var node = new ScriptedHttpServer((n, _) => ScriptedHttpServer.Response("200 OK", $"{n}"));
        using var transport = new Http1Transport(new Uri($"http://localhost:{node.Url.Port}/"), ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        Assert.Contains($"Host: localhost:{node.Url.Port}", Assert.Single(node.Requests), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_port_is_connection_refused()
    {
        var port = FreePort();
        using var transport = new Http1Transport(new Uri($"http://127.0.0.1:{port}/"), ConnectTimeout);

        using var buffer = new PooledBuffer();
        var error = await Assert.ThrowsAsync<HttpRequestException>(async () => await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None));

        Assert.Equal(("connection_refused", true), FailureClassifier.Describe(error));
    }

    [Fact]
    public async Task A_garbled_status_line_is_an_invalid_response()
    {
        await using var node = new ScriptedHttpServer((_, _) => "SMTP ready\r\n\r\n"u8.ToArray());
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var error = await Assert.ThrowsAsync<HttpRequestException>(async () => await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None));

        Assert.Equal(HttpRequestError.InvalidResponse, error.HttpRequestError);
        Assert.Equal(0, transport.IdleConnections);
    }

    [Fact]
    public async Task An_answer_over_the_limit_is_flagged_and_its_connection_dropped()
    {
        await using var node = new ScriptedHttpServer((_, _) => ScriptedHttpServer.Response("200 OK", new string('x', 5000)));
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, maxResponseBytes: 1000, CancellationToken.None);

        Assert.True(response.TooLarge);
        Assert.Equal(0, transport.IdleConnections);
    }

    [Fact]
    public async Task Status_and_retry_after_reach_the_caller()
    {
        await using var node = new ScriptedHttpServer((_, _) => ScriptedHttpServer.Response("429 Too Many Requests", "slow down", "Retry-After: 3"));
        using var transport = new Http1Transport(node.Url, ConnectTimeout);

        using var buffer = new PooledBuffer();
        var response = await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);

        Assert.Equal(429, response.StatusCode);
        Assert.False(response.IsSuccess);
        Assert.Equal(TimeSpan.FromSeconds(3), response.RetryAfter);
        Assert.Equal(1, transport.IdleConnections);
    }

    [Fact]
    public async Task Cancelling_a_pending_exchange_throws_and_does_not_pool_the_connection()
    {
        using var hold = new SemaphoreSlim(0);
        await using var node = await FakeServer.StartAsync(app => app.MapPost("/rpc", async (HttpContext context) =>
        {
            await hold.WaitAsync(TimeSpan.FromSeconds(10));
            await context.Response.WriteAsync("late");
        }));
        using var transport = new Http1Transport(new Uri(node.Url + "/rpc"), ConnectTimeout);
        using var cancel = new CancellationTokenSource();

        using var buffer = new PooledBuffer();
        var pending = transport.PostAsync(Call, buffer, 1 << 20, cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.Equal(0, transport.IdleConnections);
        hold.Release();
    }

    [Fact]
    public async Task Attempts_beyond_the_connection_cap_wait_for_a_connection_instead_of_opening_more()
    {
        using var hold = new SemaphoreSlim(0);
        var inHandler = 0;
        var maxInHandler = 0;
        await using var node = await FakeServer.StartAsync(app => app.MapPost("/rpc", async (HttpContext context) =>
        {
            var now = Interlocked.Increment(ref inHandler);
            InterlockedMax(ref maxInHandler, now);
            await hold.WaitAsync(TimeSpan.FromSeconds(10));
            Interlocked.Decrement(ref inHandler);
            await context.Response.WriteAsync("ok");
        }));
        using var transport = new Http1Transport(new Uri(node.Url + "/rpc"), ConnectTimeout, maxConnections: 2);

        var buffers = Enumerable.Range(0, 5).Select(_ => new PooledBuffer()).ToArray();
        var calls = buffers.Select(b => transport.PostAsync(Call, b, 1 << 20, CancellationToken.None).AsTask()).ToArray();
        await WaitUntilAsync(() => Volatile.Read(ref inHandler) == 2);
        hold.Release(5);
        await Task.WhenAll(calls);

        Assert.Equal(2, maxInHandler);
        Assert.All(buffers, b => Assert.Equal("ok", Encoding.ASCII.GetString(b.Span)));
        Assert.Equal(2, transport.IdleConnections);
        foreach (var buffer in buffers)
        {
            buffer.Dispose();
        }

        static void InterlockedMax(ref int target, int value)
        {
            for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
            {
                Interlocked.CompareExchange(ref target, value, seen);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    [Fact]
    public async Task A_connection_idle_past_the_idle_timeout_is_not_reused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var node = new ScriptedHttpServer((n, _) => ScriptedHttpServer.Response("200 OK", $"{n}"));
        using var transport = new Http1Transport(node.Url, ConnectTimeout, time);

        using var first = new PooledBuffer();
        await transport.PostAsync(Call, first, 1 << 20, CancellationToken.None);
        time.Advance(Http1Transport.IdleTimeout - TimeSpan.FromSeconds(1));
        using var second = new PooledBuffer();
        await transport.PostAsync(Call, second, 1 << 20, CancellationToken.None);
        Assert.Equal(1, node.Accepted);

        time.Advance(Http1Transport.IdleTimeout);
        using var third = new PooledBuffer();
        await transport.PostAsync(Call, third, 1 << 20, CancellationToken.None);

        Assert.Equal(2, node.Accepted);
        Assert.Equal(1, transport.IdleConnections);
    }

    [Fact]
    public async Task A_connection_past_its_lifetime_is_closed_after_its_exchange()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var node = new ScriptedHttpServer((n, _) => ScriptedHttpServer.Response("200 OK", $"{n}"));
        using var transport = new Http1Transport(node.Url, ConnectTimeout, time);

        // Busy enough never to idle out, but older than the lifetime: DNS changes get picked up.
        for (var elapsed = TimeSpan.Zero; elapsed <= Http1Transport.Lifetime; elapsed += TimeSpan.FromSeconds(30))
        {
            using var buffer = new PooledBuffer();
            await transport.PostAsync(Call, buffer, 1 << 20, CancellationToken.None);
            time.Advance(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(0, transport.IdleConnections);
        using var after = new PooledBuffer();
        await transport.PostAsync(Call, after, 1 << 20, CancellationToken.None);
        Assert.Equal(2, node.Accepted);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
