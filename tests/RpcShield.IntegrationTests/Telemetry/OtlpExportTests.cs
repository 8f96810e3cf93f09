using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Telemetry;

/// <summary>One real OTLP/HTTP export: RpcShield's exporter posts protobuf to a collector endpoint on loopback.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task The_collector_receives_the_call_span_with_its_attempt_children_in_the_bots_trace()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var node = await AnvilNode.StartAsync();
        var (traceparent, traceId, botSpan) = TracingTests.BotTrace();
        await using (var proxy = await ProxyUnderTest.StartAsync(TracingTests.WithTelemetry(Yaml.Chain([("node", node.Url)]), receiver.Url)))
        {
            await proxy.WaitRoutableAsync(1);
            using var request = TracingTests.Call("""{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","latest"]}""", traceparent);
            using var response = await proxy.Client.SendAsync(request);
            Assert.Contains("\"result\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            // Disposing the host shuts the tracer provider down, which flushes the batch to the collector.
        }

        var trace = traceId.ToHexString();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!receiver.Spans.Any(s => s.TraceId == trace && s.Kind == 3) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.All(receiver.ContentTypes, type => Assert.StartsWith("application/x-protobuf", type, StringComparison.Ordinal));
        var mine = receiver.Spans.Where(s => s.TraceId == trace).ToList();
        // SpanKind: 2 server (the call), 3 client (an attempt).
        var call = Assert.Single(mine, s => s.Kind == 2);
        Assert.Equal("eth_getBalance", call.Name);
        Assert.Equal(botSpan.ToHexString(), call.ParentSpanId);
        Assert.Equal("test", call.Attributes["rpcshield.chain"]);
        Assert.Equal("ok", call.Attributes["rpcshield.outcome"]);
        Assert.Equal("full", call.Attributes["rpcshield.mode"]);
        var attempt = Assert.Single(mine, s => s.Kind == 3);
        Assert.Equal(call.SpanId, attempt.ParentSpanId);
        Assert.Equal("node", attempt.Attributes["rpcshield.upstream"]);
        Assert.Equal("ok", attempt.Attributes["rpcshield.outcome"]);
    }
}
