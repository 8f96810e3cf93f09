using RpcShield.Configuration;

namespace RpcShield.Tests.Configuration;

/// <summary>`server.metrics_listen`: an http URL with an IP (or localhost) and a port other than `server.listen`'s.</summary>
public sealed class MetricsListenConfigTests
{
    private static ConfigLoadResult Load(string server) => ConfigLoader.LoadText($"server: {server}\n{ConfigLoaderTests.Minimal}", _ => null);

    [Theory]
    [InlineData("http://0.0.0.0:9464")]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://[::]:9464")]
    [InlineData("http://localhost:9464")]
    public void A_valid_listener_passes(string url)
    {
        var result = Load($"{{ metrics_listen: \"{url}\" }}");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(url, result.Options!.Server.MetricsListen);
    }

    [Theory]
    [InlineData("https://0.0.0.0:9464")]
    [InlineData("0.0.0.0:9464")]
    [InlineData("http://metrics.example:9464")]
    [InlineData("http://0.0.0.0:9464/metrics")]
    [InlineData("")]
    public void A_bad_url_is_an_error_on_its_key(string url)
    {
        var result = Load($"{{ metrics_listen: \"{url}\" }}");
        Assert.Contains(result.Errors, e => e.Path == "server.metrics_listen" && e.Message.Contains("http://", StringComparison.Ordinal));
    }

    [Fact]
    public void The_port_of_the_json_rpc_listener_is_an_error()
    {
        var result = Load("{ listen: \"http://127.0.0.1:8545\", metrics_listen: \"http://0.0.0.0:8545\" }");
        Assert.Contains(result.Errors, e => e.Path == "server.metrics_listen" && e.Message.Contains("8545", StringComparison.Ordinal));
    }

    [Fact]
    public void Absent_means_no_second_listener()
    {
        var result = Load("{ listen: \"http://127.0.0.1:8545\" }");
        Assert.True(result.IsValid);
        Assert.Null(result.Options!.Server.MetricsListen);
    }
}
