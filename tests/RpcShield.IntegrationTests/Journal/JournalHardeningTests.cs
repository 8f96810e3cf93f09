using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Telemetry;

namespace RpcShield.IntegrationTests.Journal;

/// <summary>Megabyte bodies leave pooled buffers behind: run alone, so tests measuring the process heap do not count them.</summary>
[CollectionDefinition(nameof(LargeBodies), DisableParallelization = true)]
public sealed class LargeBodies
{
}

/// <summary>The journal cannot be used to fill the disk, and a journal that cannot be written never takes RPC down.</summary>
[Collection(nameof(LargeBodies))]
public sealed class JournalHardeningTests : IDisposable
{
    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"rpcshield-hardening-{Guid.NewGuid():N}.db");

    private string Config(string url, string extraJournal = "") =>
        Yaml.Chain([("a", url)]).Replace("journal: { path: \"\" }", $"journal: {{ path: \"{_journal}\", stats_interval: 200ms{extraJournal} }}", StringComparison.Ordinal);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Megabyte_method_names_from_a_client_do_not_grow_the_journal()
    {
        // A dead upstream: every call fails over to nothing and is journaled with its method.
        await using (var proxy = await ProxyUnderTest.StartAsync(Config("http://127.0.0.1:9")))
        {
            var method = "eth_" + new string('m', 1 << 20);
            for (var i = 0; i < 20; i++)
            {
                using var response = await proxy.Client.PostAsync("/", Json($$"""{"jsonrpc":"2.0","id":{{i}},"method":"{{method}}","params":[]}"""));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        using var connection = new SqliteConnection($"Data Source={_journal};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COUNT(DISTINCT method), MAX(method), MAX(LENGTH(note)), MAX(LENGTH(reason)) FROM journal WHERE method IS NOT NULL";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.True(reader.GetInt64(0) >= 20, $"{reader.GetInt64(0)} rows");
        Assert.Equal((1L, "other"), (reader.GetInt64(1), reader.GetString(2)));
        Assert.True(reader.GetInt64(3) <= 2048 && reader.GetInt64(4) <= 512);
        // 20 MB of method names became a few kilobytes.
        Assert.True(new FileInfo(_journal).Length + new FileInfo(_journal + "-wal").Length < 2 << 20);
    }

    [Fact]
    public async Task A_journal_that_cannot_be_opened_at_start_leaves_rpc_serving_and_writing_resumes()
    {
        // The journal path is a directory: SQLite cannot open it (as a full or failing disk would not let it write).
        Directory.CreateDirectory(_journal);
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Config(node.Url));
        await proxy.WaitRoutableAsync(1);

        using (var call = await proxy.Client.PostAsync("/", Json("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""")))
        {
            Assert.Contains("0x7a69", await call.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal("down", status.GetProperty("journal").GetProperty("state").GetString());
        using (var ready = await proxy.Client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var reason = (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString();
            Assert.Contains("journal down", reason, StringComparison.Ordinal);
        }

        // Outcome reports are still answered; their entries are dropped and counted.
        await ReportAsync(proxy, "while-down");
        await WaitUntilAsync(async () => Exposition.Sum(await proxy.Client.GetStringAsync("/metrics"), "rpcshield_journal_dropped_total") >= 1);

        // The disk comes back: the writer retries on its own and writes again.
        Directory.Delete(_journal);
        await WaitUntilAsync(async () => (await proxy.Client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("journal").GetProperty("state").GetString() == "up");
        using (var ready = await proxy.Client.GetAsync("/readyz"))
        {
            Assert.Equal(JsonValueKind.Null, (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").ValueKind);
        }

        await ReportAsync(proxy, "after");
        await proxy.DisposeAsync();
        using var connection = new SqliteConnection($"Data Source={_journal};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT strategy FROM journal WHERE kind = 'outcome'";
        Assert.Equal("after", command.ExecuteScalar());
    }

    private static async Task ReportAsync(ProxyUnderTest proxy, string strategy)
    {
        using var response = await proxy.Client.PostAsync("/", Json($$"""{"jsonrpc":"2.0","id":7,"method":"rpcshield_reportOutcome","params":[{"strategy":"{{strategy}}","block":1,"expectedProfit":1,"outcome":"succeeded"}]}"""));
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("accepted").GetBoolean());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_journal))
        {
            Directory.Delete(_journal);
        }

        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(_journal + suffix);
        }
    }
}
