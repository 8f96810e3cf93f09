using System.Text;
using RpcShield.Configuration;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Tests.Upstreams;

public sealed class UpstreamTransportTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8545", "auto", typeof(Http1Transport))]
    [InlineData("http://localhost:8545/path", "auto", typeof(Http1Transport))]
    [InlineData("https://eth.example/v2/key", "auto", typeof(HttpClientTransport))]
    [InlineData("http://127.0.0.1:8545", "httpclient", typeof(HttpClientTransport))]
    public void Picks_the_lean_client_for_plain_http_unless_told_otherwise(string url, string transport, Type expected)
    {
        using var created = UpstreamTransports.Create(new UpstreamOptions { Name = "n", Url = url, Transport = transport }, TimeProvider.System);

        Assert.IsType(expected, created);
    }

    [Fact]
    public void Parses_status_length_and_keep_alive_case_insensitively()
    {
        var head = Parse("HTTP/1.1 200 OK\r\ncontent-LENGTH:  42 \r\nX-Other: y");

        Assert.Equal(new ResponseHead(200, 42, Chunked: false, KeepAlive: true, RetryAfter: null), head);
        Assert.True(head.HasFramedBody);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close", false)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: Upgrade, Close", false)]
    [InlineData("HTTP/1.0 200 OK", false)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive", true)]
    [InlineData("HTTP/1.1 200 OK", true)]
    public void Keep_alive_follows_version_and_connection_header(string text, bool keepAlive) =>
        Assert.Equal(keepAlive, Parse(text).KeepAlive);

    [Fact]
    public void Chunked_wins_over_a_content_length_and_only_as_the_last_coding()
    {
        Assert.Equal((true, (long?)null), Of(Parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: gzip, chunked")));
        // Any other last coding: no length, the body runs to the connection's end (never pooled).
        Assert.Equal(new ResponseHead(200, null, false, false, null), Parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked, gzip"));
        Assert.False(Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip").HasFramedBody);

        static (bool, long?) Of(ResponseHead h) => (h.Chunked, h.ContentLength);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8545/", "POST / HTTP/1.1\r\nHost: 127.0.0.1:8545\r\n")]
    [InlineData("http://[::1]:8545/v2/k?x=1", "POST /v2/k?x=1 HTTP/1.1\r\nHost: [::1]:8545\r\n")]
    [InlineData("http://node.internal/rpc", "POST /rpc HTTP/1.1\r\nHost: node.internal\r\n")]
    public void The_request_head_names_path_query_and_host_as_http_wants(string url, string start) =>
        Assert.StartsWith(start, Http1Transport.RequestHead(new Uri(url)), StringComparison.Ordinal);

    [Fact]
    public void Retry_after_reads_seconds_and_http_dates()
    {
        Assert.Equal(TimeSpan.FromSeconds(7), Parse("HTTP/1.1 429 Too Many\r\nRetry-After: 7").RetryAfter);
        var date = DateTimeOffset.UtcNow.AddMinutes(2).ToString("r", System.Globalization.CultureInfo.InvariantCulture);
        var parsed = Parse($"HTTP/1.1 503 Busy\r\nRetry-After: {date}").RetryAfter;
        Assert.InRange(parsed!.Value, TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(121));
        Assert.Null(Parse("HTTP/1.1 429 Too Many\r\nRetry-After: soon").RetryAfter);
    }

    [Theory]
    [InlineData("HTTP/2 200")]
    [InlineData("HTTP/1.1 2x0 OK")]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -5")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 12abc")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6")]
    [InlineData("HTTP/1.1 2000 OK")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket")]
    public void Rejects_malformed_heads(string text)
    {
        var error = Assert.Throws<HttpRequestException>(() => Parse(text));

        Assert.Equal(HttpRequestError.InvalidResponse, error.HttpRequestError);
    }

    private static ResponseHead Parse(string text) => ResponseHead.Parse(Encoding.ASCII.GetBytes(text));
}

public sealed class UpstreamTransportReloadTests
{
    [Fact]
    public void A_reload_keeps_an_upstream_with_its_transport_and_replaces_it_when_the_transport_changes()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var (registry, chain, _) = RpcShield.Tests.Routing.Hedging.TestChains.Create(time, upstreams: 1);
        var before = chain.Upstreams[0];
        Assert.IsType<Http1Transport>(before.Transport);

        var same = Options(chain.Options, "auto");
        registry.Apply(same);
        Assert.Same(before, registry.Chains[0].Upstreams[0]);

        registry.Apply(Options(chain.Options, "httpclient"));
        var after = registry.Chains[0].Upstreams[0];
        Assert.NotSame(before, after);
        Assert.IsType<HttpClientTransport>(after.Transport);

        static ProxyOptions Options(ChainOptions current, string transport)
        {
            var upstream = current.Upstreams[0];
            var chain = new ChainOptions
            {
                Name = current.Name,
                ChainId = current.ChainId,
                Upstreams = [new UpstreamOptions { Name = upstream.Name, Url = upstream.Url, Transport = transport }],
            };
            return new ProxyOptions { Chains = [chain] };
        }
    }
}
