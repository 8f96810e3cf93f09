using System.Text;
using RpcShield.Features.Fanout;

namespace RpcShield.Tests.Features.Fanout;

public sealed class BuilderErrorClassifierTests
{
    [Theory]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"result":{"bundleHash":"0xabc"}}""", BuilderOutcomeKind.Ok, "ok")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"result":200}""", BuilderOutcomeKind.Ok, "ok")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"result":null}""", BuilderOutcomeKind.Ok, "ok")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"result":null,"error":null}""", BuilderOutcomeKind.Ok, "ok")]
    [InlineData(403, """{"error":"error in signature check 0x96216849c49358B10257cb55b28eA603c874b05E"}""", BuilderOutcomeKind.Error, "http_403 error in signature check 0x96216849c49358B10257cb55b28eA603c874b05E")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"signature is required"}}""", BuilderOutcomeKind.Error, "-32600 signature is required")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32025,"message":"bundle expired"}}""", BuilderOutcomeKind.Error, "-32025 bundle expired")]
    [InlineData(200, """{"jsonerror":"unable to decode txs"}""", BuilderOutcomeKind.Error, "error unable to decode txs")]
    [InlineData(200, """{"error":"invalid bundle"}""", BuilderOutcomeKind.Error, "error invalid bundle")]
    [InlineData(502, "<html><head><title>502 Bad Gateway</title></head></html>", BuilderOutcomeKind.Error, "http_502 html")]
    [InlineData(503, "", BuilderOutcomeKind.Error, "http_503")]
    [InlineData(400, """{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid params"}}""", BuilderOutcomeKind.Error, "http_400 -32602 invalid params")]
    [InlineData(429, "Too Many Requests", BuilderOutcomeKind.Throttled, "http_429")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"limit exceeded"}}""", BuilderOutcomeKind.Throttled, "-32005 limit exceeded")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"rate limit reached"}}""", BuilderOutcomeKind.Throttled, "-32000 rate limit reached")]
    [InlineData(200, "", BuilderOutcomeKind.Error, "empty_response")]
    [InlineData(200, "<!DOCTYPE html><html></html>", BuilderOutcomeKind.Error, "invalid_response html")]
    [InlineData(200, "OK", BuilderOutcomeKind.Error, "invalid_response")]
    [InlineData(200, """{"jsonrpc":"2.0","id":1}""", BuilderOutcomeKind.Error, "invalid_response")]
    [InlineData(200, """{"result": [1, 2""", BuilderOutcomeKind.Error, "invalid_response")]
    public void Classifies_by_status_and_body_without_assuming_a_json_rpc_error(int status, string body, object kind, string reason)
    {
        var (actualKind, actualReason) = BuilderErrorClassifier.Classify(status, Encoding.UTF8.GetBytes(body));

        Assert.Equal((BuilderOutcomeKind)kind, actualKind);
        Assert.Equal(reason, actualReason);
    }

    [Fact]
    public void Long_messages_are_truncated()
    {
        var body = $$"""{"error":"{{new string('x', 500)}}"}""";

        var (_, reason) = BuilderErrorClassifier.Classify(403, Encoding.UTF8.GetBytes(body));

        Assert.Equal(120, reason.Length);
        Assert.StartsWith("http_403 xxx", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BuilderOutcomeKind.Ok, "ok")]
    [InlineData(BuilderOutcomeKind.Error, "error")]
    [InlineData(BuilderOutcomeKind.Timeout, "timeout")]
    [InlineData(BuilderOutcomeKind.Throttled, "throttled")]
    public void Labels_are_the_header_vocabulary(object kind, string label) => Assert.Equal(label, BuilderOutcome.LabelOf((BuilderOutcomeKind)kind));
}
