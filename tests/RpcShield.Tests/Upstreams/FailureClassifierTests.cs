using System.Net;
using System.Net.Sockets;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams;

public sealed class FailureClassifierTests
{
    [Theory]
    [InlineData(3, "execution reverted: Ownable: caller is not the owner", AttemptKind.Answered)]
    [InlineData(-32000, "execution reverted", AttemptKind.Answered)]
    [InlineData(-32602, "invalid argument 0: hex string without 0x prefix", AttemptKind.Answered)]
    [InlineData(-32000, "nonce too low", AttemptKind.Answered)]
    [InlineData(-32000, "already known", AttemptKind.Answered)]
    [InlineData(-32000, "insufficient funds for gas * price + value", AttemptKind.Answered)]
    [InlineData(-32005, "limit exceeded", AttemptKind.Throttled)]
    [InlineData(-32000, "rate limit reached", AttemptKind.Throttled)]
    [InlineData(429, "Too Many Requests", AttemptKind.Throttled)]
    [InlineData(-32601, "the method foo does not exist", AttemptKind.Unsupported)]
    [InlineData(-32000, "header not found", AttemptKind.NodeError)]
    [InlineData(-32000, "missing trie node abc (path )", AttemptKind.NodeError)]
    [InlineData(-32603, "something odd", AttemptKind.NodeError)]
    [InlineData(-32000, "Internal error", AttemptKind.NodeError)]
    [InlineData(-32000, "some deterministic app error", AttemptKind.Answered)]
    public void Node_errors_are_retried_and_deterministic_answers_are_not(int code, string message, object expected) =>
        Assert.Equal((AttemptKind)expected, FailureClassifier.ClassifyReply(new UpstreamReply(true, true, code, message)));

    [Fact]
    public void A_result_is_an_answer_and_non_json_rpc_is_an_http_error()
    {
        Assert.Equal(AttemptKind.Answered, FailureClassifier.ClassifyReply(new UpstreamReply(true, false, 0, null)));
        Assert.Equal(AttemptKind.HttpError, FailureClassifier.ClassifyReply(UpstreamReply.NotJsonRpc));
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, AttemptKind.Answered)]
    [InlineData(HttpStatusCode.TooManyRequests, AttemptKind.Throttled)]
    [InlineData(HttpStatusCode.ServiceUnavailable, AttemptKind.HttpError)]
    [InlineData(HttpStatusCode.InternalServerError, AttemptKind.HttpError)]
    [InlineData(HttpStatusCode.Unauthorized, AttemptKind.HttpError)]
    public void Http_status_classification(HttpStatusCode status, object expected) =>
        Assert.Equal((AttemptKind)expected, FailureClassifier.ClassifyStatus(status));

    [Fact]
    public void A_refused_connection_is_a_hard_failure_and_a_reset_is_not()
    {
        var refused = new HttpRequestException("x", new SocketException((int)SocketError.ConnectionRefused));
        Assert.Equal(("connection_refused", true), FailureClassifier.Describe(refused));
        var reset = new HttpRequestException("x", new IOException("y", new SocketException((int)SocketError.ConnectionReset)));
        Assert.Equal(("connection_reset", false), FailureClassifier.Describe(reset));
        Assert.Equal(("transport_error", false), FailureClassifier.Describe(new IOException("z")));
        Assert.Equal(("http_io_responseended", false), FailureClassifier.Describe(new HttpIOException(HttpRequestError.ResponseEnded)));
    }
}
