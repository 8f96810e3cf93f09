using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Configuration;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Telemetry;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>Real anvil nodes and a dead URL behind RpcShield: successes, a failover and an error show up in /metrics.</summary>
public sealed class MetricsExpositionTests
{
    [Fact]
    public async Task A_scripted_mix_of_successes_failovers_and_errors_is_exposed()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await a.MineAsync(3);
        await b.MineAsync(3);
        var journal = Path.Combine(Path.GetTempPath(), $"rpcshield-metrics-{Guid.NewGuid():N}.db");
        var yaml = Yaml.Chain([("a", a.Url), ("b", b.Url), ("dead", $"http://127.0.0.1:{DeadPort()}")])
            .Replace("journal: { path: \"\" }", $"journal: {{ path: \"{journal}\" }}", StringComparison.Ordinal)
            // Only the start-up probe round: the kills below are discovered by the requests themselves (a real failover).
            .Replace("interval: 200ms", "interval: 1h", StringComparison.Ordinal)
            // a is the primary, so it serves first and the kill below always causes a failover.
            .Replace("{ name: b,", "{ name: b, tier: fallback,", StringComparison.Ordinal)
            .Replace("{ name: dead,", "{ name: dead, tier: fallback,", StringComparison.Ordinal);
        try
        {
            await using (var proxy = await ProxyUnderTest.StartAsync(yaml))
            {
                string? servedBy = null;
                for (var i = 0; i < 5; i++)
                {
                    using var ok = await PostAsync(proxy, "eth_blockNumber");
                    Assert.Contains("\"result\"", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                    servedBy = ok.Headers.GetValues("X-RpcShield-Upstream").Single();
                }

                Assert.Equal("a", servedBy);

                // An unknown method is labelled `other` (bounded cardinality), never by its own name.
                using (await PostAsync(proxy, "foo_notAMethod"))
                {
                }

                // Kill the node that served: the next request fails over to the other one.
                (servedBy == "a" ? a : b).Kill();
                using (var failover = await PostAsync(proxy, "eth_blockNumber", strategy: "arb-1"))
                {
                    Assert.Contains("\"result\"", await failover.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                    Assert.NotEqual(servedBy, failover.Headers.GetValues("X-RpcShield-Upstream").Single());
                }

                // Kill the other one too: the request fails with -32090.
                (servedBy == "a" ? b : a).Kill();
                using (var failed = await PostAsync(proxy, "eth_blockNumber"))
                {
                    Assert.Contains("-32090", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                }

                Assert.Empty(proxy.Services.GetRequiredService<ConfigStore>().Reload());
                var text = await proxy.Client.GetStringAsync("/metrics");

                Assert.Equal(6, Exposition.Sum(text, "rpcshield_requests_total", ("chain", "test"), ("method", "eth_blockNumber"), ("outcome", "ok")));
                Assert.Equal(1, Exposition.Sum(text, "rpcshield_requests_total", ("chain", "test"), ("method", "eth_blockNumber"), ("outcome", "error")));
                Assert.Equal(1, Exposition.Sum(text, "rpcshield_requests_total", ("method", "other")));
                Assert.DoesNotContain("foo_notAMethod", text, StringComparison.Ordinal);
                Assert.Equal(8, Exposition.Sum(text, "rpcshield_request_duration_seconds_count", ("chain", "test")));
                Assert.True(Exposition.Sum(text, "rpcshield_failovers_total", ("chain", "test"), ("upstream", servedBy!), ("reason", "transport")) >= 1, text);
                Assert.True(Exposition.Sum(text, "rpcshield_upstream_requests_total", ("upstream", servedBy!), ("outcome", "ok")) >= 5);
                Assert.True(Exposition.Sum(text, "rpcshield_upstream_requests_total", ("upstream", "dead"), ("outcome", "error")) >= 1);
                Assert.Equal(0, Exposition.Sum(text, "rpcshield_upstream_up", ("upstream", "dead")));
                Assert.Equal(3, Exposition.Samples(text, "rpcshield_upstream_up", ("chain", "test")).Count);
                Assert.Equal(3, Exposition.Samples(text, "rpcshield_upstream_score", ("chain", "test")).Count);
                Assert.Equal(3, Exposition.Sum(text, "rpcshield_upstream_head_block", ("upstream", servedBy!)));
                Assert.Single(Exposition.Samples(text, "rpcshield_upstream_block_lag", ("upstream", servedBy!)));
                // Histograms resolve 100 µs .. 30 s.
                Assert.Single(Exposition.Samples(text, "rpcshield_upstream_request_duration_seconds_bucket", ("upstream", servedBy!), ("le", "0.0001")));
                Assert.Single(Exposition.Samples(text, "rpcshield_upstream_request_duration_seconds_bucket", ("upstream", servedBy!), ("le", "30")));
                Assert.Equal(1, Exposition.Sum(text, "rpcshield_config_reloads_total", ("result", "success")));
                Assert.Equal(0, Exposition.Sum(text, "rpcshield_journal_dropped_total"));

                // The journal writer counts what it wrote: failed attempts and the failover are there.
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while ((Exposition.Sum(text, "rpcshield_journal_entries_total", ("kind", "failed_attempt")) < 2
                        || Exposition.Sum(text, "rpcshield_journal_entries_total", ("kind", "failover")) < 1
                        || Exposition.Sum(text, "rpcshield_journal_entries_total", ("kind", "config_reload")) < 1)
                    && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                    text = await proxy.Client.GetStringAsync("/metrics");
                }

                Assert.True(Exposition.Sum(text, "rpcshield_journal_entries_total", ("kind", "failed_attempt")) >= 2, text);
                Assert.True(Exposition.Sum(text, "rpcshield_journal_entries_total", ("kind", "failover")) >= 1, text);
                Assert.Equal(1, Exposition.Sum(text, "rpcshield_journal_entries_total", ("kind", "config_reload")));
            }

            // After shutdown the journal holds the failed attempt with the bot's strategy and the head block.
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT upstream, reason, head_block, method, latency_ms FROM journal WHERE kind = 'failed_attempt' AND strategy = 'arb-1'";
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read(), "journal: " + Dump(connection));
            Assert.NotEqual("dead", reader.GetString(0));
            Assert.False(string.IsNullOrEmpty(reader.GetString(1)));
            Assert.Equal(3, reader.GetInt64(2));
            Assert.Equal("eth_blockNumber", reader.GetString(3));
            Assert.True(reader.GetDouble(4) >= 0);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in (string[])["", "-wal", "-shm"])
            {
                File.Delete(journal + suffix);
            }
        }
    }

    private static string Dump(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT kind, strategy, upstream, reason, method, head_block, note FROM journal ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "-" : reader.GetValue(i).ToString())));
        }

        return string.Join("; ", rows);
    }

    internal static Task<HttpResponseMessage> PostAsync(ProxyUnderTest proxy, string method, string? strategy = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/")
        {
            Content = new StringContent($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":[]}""", Encoding.UTF8, "application/json"),
        };
        if (strategy is not null)
        {
            request.Headers.Add("X-RpcShield-Strategy", strategy);
        }

        return proxy.Client.SendAsync(request);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    internal static int DeadPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
