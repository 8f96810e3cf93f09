using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Telemetry;

namespace RpcShield.IntegrationTests.Hosting.Security;

/// <summary>A client sending garbage cannot flood the log: no stack traces, a bounded number of lines.</summary>
public sealed class LogFloodTests
{
    /// <summary>Malformed bodies of every kind the attack used (truncated, invalid UTF-8, bad escapes, lone surrogates, wrong shapes).</summary>
    public static readonly byte[][] Malformed =
    [
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId"""),
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"\ud800","params":[]}"""),
        Encoding.UTF8.GetBytes("""[{"jsonrpc":"2.0","id":1,"method":"\udc00x"},{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]"""),
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"eth_\x","params":[]}"""),
        [0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0xff, 0xfe, 0x7d],
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":{"a":1},"method":7,"params":"x"}"""),
        Encoding.UTF8.GetBytes(new string('[', 5000)),
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"\u0000\uDBFF","method":"eth_call","params":[{"to":"\ud83d"}]}"""),
        Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["\ud800","latest"]}"""),
        [],
    ];

    [Fact]
    public async Task A_thousand_malformed_bodies_log_a_bounded_number_of_lines_and_no_stack_trace()
    {
        var logs = new LogCapture();
        // Debug: even the client-error lines (off by default) are bounded.
        await using var proxy = await ProxyUnderTest.StartAsync(
            Yaml.Chain([("node", "http://127.0.0.1:9")]),
            services: s => s.AddSingleton<ILoggerProvider>(logs),
            minimumLogLevel: LogLevel.Debug);
        var first = await proxy.Client.GetStringAsync("/metrics");
        foreach (var category in (string[])["client_error", "request_failure", "journal"])
        {
            Assert.Contains($"rpcshield_log_suppressed_total{{category=\"{category}\"}} 0", first, StringComparison.Ordinal);
        }

        var before = logs.Lines.Count;
        for (var i = 0; i < 1000; i++)
        {
            using var content = new ByteArrayContent(Malformed[i % Malformed.Length]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await proxy.Client.PostAsync("/", content);
            // Every one is answered in JSON-RPC, never an empty 500.
            Assert.Contains("\"jsonrpc\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var lines = logs.Lines.Skip(before).Where(line => line.Contains("RpcShield.Telemetry", StringComparison.Ordinal) || line.Contains("Kestrel", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(logs.Lines, line => line.Contains("   at ", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal));
        // At most the burst plus what the bucket refills while the loop runs (one line per 10 s). Lone
        // surrogates used to make the JSON reader throw here; the envelope parser now answers them
        // -32700 itself, so these bodies may log nothing at all.
        Assert.InRange(lines.Count, 0, 30);
    }

    [Fact]
    public async Task Repeated_failures_inside_rpcshield_are_answered_and_logged_as_rate_limited_warnings()
    {
        var logs = new LogCapture();
        await using var proxy = await ProxyUnderTest.StartAsync(
            Yaml.Chain([("node", "http://127.0.0.1:9")]),
            services: s => s.AddSingleton<RpcShield.JsonRpc.IRpcHandler, BrokenHandler>().AddSingleton<ILoggerProvider>(logs),
            minimumLogLevel: LogLevel.Information);

        for (var i = 0; i < 200; i++)
        {
            using var response = await proxy.Client.PostAsync("/", new StringContent("""{"jsonrpc":"2.0","id":1,"method":"rpcshield_broken","params":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Contains("-32603", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var warnings = logs.Lines.Where(line => line.Contains("failed inside RpcShield", StringComparison.Ordinal)).ToList();
        // The first ones carry the stack trace (a bug to fix); the rest are counted, not written.
        Assert.InRange(warnings.Count, 1, 30);
        Assert.All(warnings, line => Assert.StartsWith("Warning", line, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains("Kestrel", StringComparison.Ordinal) && line.Contains("unhandled", StringComparison.OrdinalIgnoreCase));
        var metrics = await proxy.Client.GetStringAsync("/metrics");
        Assert.True(Exposition.Sum(metrics, "rpcshield_log_suppressed_total", ("category", "request_failure")) >= 200 - 30);
    }

    /// <summary>A handler with a bug: throws for its method.</summary>
    private sealed class BrokenHandler : RpcShield.JsonRpc.IRpcHandler
    {
        public bool Handles(RpcShield.Chains.ChainRuntime chain, string method) => method == "rpcshield_broken";

        public ValueTask<RpcShield.Routing.ForwardResult> HandleAsync(RpcShield.JsonRpc.RpcCall call, RpcShield.JsonRpc.RpcRequestItem item, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug");
    }
}
