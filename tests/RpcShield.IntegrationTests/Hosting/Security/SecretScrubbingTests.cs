using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.Hosting.Cli;
using RpcShield.IntegrationTests.Features.Fanout;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Hosting.Security;

/// <summary>An upstream and a builder whose error text quotes the key in their URL: the key is stored and shown nowhere.</summary>
public sealed class SecretScrubbingTests : IDisposable
{
    private const string UpstreamKey = "upkey7f3a9c21d4e8b605";
    private const string BuilderKey = "bldkey93e1c0a7b5d24f68";
    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"rpcshield-scrub-{Guid.NewGuid():N}.db");

    /// <summary>A node that answers probes but fails everything else quoting its own URL, as some providers do.</summary>
    private static Task<FakeServer> StartKeyEchoingNodeAsync() => FakeServer.StartAsync(app => app.Run(async context =>
    {
        var request = await JsonDocument.ParseAsync(context.Request.Body);
        var id = request.RootElement.GetProperty("id").GetRawText();
        var method = request.RootElement.GetProperty("method").GetString();
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(method switch
        {
            "eth_chainId" => $$"""{"jsonrpc":"2.0","id":{{id}},"result":"0x7a69"}""",
            "eth_blockNumber" => $$"""{"jsonrpc":"2.0","id":{{id}},"result":"0x1"}""",
            _ => $$$"""{"jsonrpc":"2.0","id":{{{id}}},"error":{"code":-32001,"message":"resource unavailable: key {{{UpstreamKey}}} over quota at {{{context.Request.Path}}}"}}""",
        });
    }));

    [Fact]
    public async Task A_key_quoted_in_upstream_or_builder_errors_is_nowhere_in_status_journal_report_logs_or_the_clients_error()
    {
        await using var anvil = await AnvilNode.StartAsync();
        await using var keyed = await StartKeyEchoingNodeAsync();
        await using var builder = await FakeServer.StartAsync(app => app.Run(context =>
        {
            context.Response.StatusCode = 403;
            return context.Response.WriteAsync($$"""{"error":"invalid api key {{context.Request.QueryString.Value?.Split('=')[1]}}"}""");
        }));
        var logs = new LogCapture();
        var yaml = Yaml.Chain(
            [("node", anvil.Url), ("keyed", $"{keyed.Url}/v2/${{UPSTREAM_KEY}}")],
            extraChain: $"""
                    routes:
                      - {"{"} methods: ["eth_getBalance"], upstreams: [keyed] {"}"}
                    builders:
                      - {"{"} name: relay, url: "{builder.Url}/relay?apikey=${"{"}BUILDER_KEY{"}"}", timeout: 2s {"}"}
                """).Replace("journal: { path: \"\" }", $"journal: {{ path: \"{_journal}\" }}", StringComparison.Ordinal);
        var environment = new Dictionary<string, string> { ["UPSTREAM_KEY"] = UpstreamKey, ["BUILDER_KEY"] = BuilderKey };
        var seen = new StringBuilder();
        await using (var proxy = await ProxyUnderTest.StartAsync(yaml, name => environment.GetValueOrDefault(name), s => s.AddSingleton<ILoggerProvider>(logs), LogLevel.Debug))
        {
            await proxy.WaitRoutableAsync(2);
            using (var read = await proxy.Client.PostAsync("/", Json("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000000","latest"]}""")))
            {
                var text = await read.Content.ReadAsStringAsync();
                seen.AppendLine(text);
                // Every node failed, one with a JSON-RPC error (-32001, a clear node fault, so it is
                // journaled as the node's failure): its own words are passed on, without the key.
                var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
                Assert.Equal(-32001, error.GetProperty("code").GetInt32());
                Assert.Contains("over quota", text, StringComparison.Ordinal);
            }

            var tx = SignedTx.Transfer(AnvilNode.DevKey0, 0, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1);
            using (var bundle = await proxy.Client.PostAsync("/", Json(FanoutTests.Bundle([tx], await anvil.BlockNumberAsync() + 3, 2))))
            {
                var text = await bundle.Content.ReadAsStringAsync();
                seen.AppendLine(text);
                Assert.Equal(-32095, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetInt32());
                Assert.Contains("invalid api key", text, StringComparison.Ordinal);
            }

            seen.AppendLine(await proxy.Client.GetStringAsync("/status"));
            seen.AppendLine(await proxy.Client.GetStringAsync("/metrics"));
        }

        using (var connection = new SqliteConnection($"Data Source={_journal};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COALESCE(reason, '') || ' ' || COALESCE(note, '') || ' ' || COALESCE(upstream, '') || ' ' || COALESCE(builder, '') FROM journal";
            using var reader = command.ExecuteReader();
            var rows = 0;
            while (reader.Read())
            {
                seen.AppendLine(reader.GetString(0));
                rows++;
            }

            Assert.True(rows >= 2, $"{rows} journal rows");
        }

        Assert.Contains("over quota", seen.ToString(), StringComparison.Ordinal);
        foreach (var format in (string[])["text", "json"])
        {
            using var output = new StringWriter();
            Assert.Equal(0, ReportCommand.Run(new CommandLine(["report", "--journal", _journal, "--format", format]), output, TextWriter.Null));
            seen.AppendLine(output.ToString());
        }

        seen.AppendJoin('\n', logs.Lines);
        var everything = seen.ToString();
        Assert.DoesNotContain(UpstreamKey, everything, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(BuilderKey, everything, StringComparison.OrdinalIgnoreCase);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(_journal + suffix);
        }
    }
}
