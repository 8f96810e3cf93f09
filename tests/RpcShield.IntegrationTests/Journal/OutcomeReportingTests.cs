using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;

namespace RpcShield.IntegrationTests.Journal;

/// <summary>Bots report outcomes over JSON-RPC and REST; RpcShield validates, answers itself and journals them.</summary>
public sealed class OutcomeReportingTests : IDisposable
{
    private const string Hash = "0xabababababababababababababababababababababababababababababababab";
    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"rpcshield-outcomes-{Guid.NewGuid():N}.db");

    private string Config(string url) =>
        Yaml.Chain([("a", url)]).Replace("journal: { path: \"\" }", $"journal: {{ path: \"{_journal}\" }}", StringComparison.Ordinal);

    [Theory]
    [InlineData("""[{"block":1,"expectedProfit":1,"outcome":"succeeded"}]""", "strategy")]
    [InlineData("""[{"strategy":"s","block":"soon","expectedProfit":1,"outcome":"succeeded"}]""", "block")]
    [InlineData("""[{"strategy":"s","block":1,"outcome":"succeeded"}]""", "expectedProfit")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"won"}]""", "outcome")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"other","bundleHash":"0x1"}]""", "bundleHash")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"other","competitorTx":true}]""", "competitorTx")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"other","note":[]}]""", "note")]
    public async Task Bad_reports_get_invalid_params_naming_the_field_over_rpc_and_rest(string @params, string field)
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(node.Url));

        using var rpc = await proxy.Client.PostAsync("/", Json($$"""{"jsonrpc":"2.0","id":"r1","method":"rpcshield_reportOutcome","params":{{@params}}}"""));
        var answer = await rpc.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("r1", answer.GetProperty("id").GetString());
        Assert.Equal(-32602, answer.GetProperty("error").GetProperty("code").GetInt32());
        Assert.StartsWith($"Invalid params: {field}:", answer.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(rpc.Headers.Contains("X-RpcShield-Upstream"));

        using var rest = await proxy.Client.PostAsync("/v1/outcomes", Json(@params[1..^1]));
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        var restAnswer = await rest.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith($"{field}:", restAnswer.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Good_reports_are_answered_locally_and_journaled()
    {
        await using (var node = await AnvilNode.StartAsync())
        await using (var proxy = await ProxyUnderTest.StartAsync(Config(node.Url)))
        {
            var body = $$"""{"jsonrpc":"2.0","id":5,"method":"rpcshield_reportOutcome","params":[{"strategy":"arb-7","block":"0x20","expectedProfit":0.5,"outcome":"lost_to_competitor","competitorTx":"{{Hash}}","latencyMs":41.5,"note":"late by one slot"}]}""";
            using var rpc = await proxy.Client.PostAsync("/", Json(body));
            var answer = await rpc.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(answer.GetProperty("result").GetProperty("accepted").GetBoolean(), answer.ToString());
            Assert.True(answer.GetProperty("result").GetProperty("journaled").GetBoolean());
            Assert.Equal(5, answer.GetProperty("id").GetInt32());

            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/outcomes") { Content = Json("""{"block":33,"expectedProfit":"0.25","outcome":"succeeded","bundleHash":"0xABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"}""") };
            request.Headers.Add("X-RpcShield-Strategy", "backrun-2");
            using var rest = await proxy.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, rest.StatusCode);
        }

        // The proxy has stopped: every accepted report is in the file.
        using var connection = new SqliteConnection($"Data Source={_journal};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT strategy, head_block, expected_profit, outcome, competitor_tx, bundle_hash, latency_ms, note, chain FROM journal WHERE kind = 'outcome' ORDER BY head_block";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(("arb-7", 32L, 0.5, "lost_to_competitor", Hash), (reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetString(3), reader.GetString(4)));
        Assert.Equal((41.5, "late by one slot", "test"), (reader.GetDouble(6), reader.GetString(7), reader.GetString(8)));
        Assert.True(reader.Read());
        Assert.Equal(("backrun-2", 33L, 0.25, "succeeded", Hash), (reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetString(3), reader.GetString(5)));
        Assert.False(reader.Read());
    }

    [Fact]
    public async Task A_corrupt_journal_file_refuses_to_start_with_a_message_naming_it()
    {
        await File.WriteAllBytesAsync(_journal, Enumerable.Repeat((byte)0x5a, 4096).ToArray());
        await using var node = await AnvilNode.StartAsync();
        var error = await Assert.ThrowsAsync<JournalUnavailableException>(() => ProxyUnderTest.StartAsync(Config(node.Url)));
        Assert.Contains(_journal, error.Message, StringComparison.Ordinal);
        Assert.Contains("refusing to start", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(_journal + suffix);
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
