using System.Net;
using Microsoft.AspNetCore.Http;
using RpcShield.Hosting.Admin;
using RpcShield.Configuration;

namespace RpcShield.Tests.Hosting.Admin;

public sealed class AdminGuardTests
{
    private static DefaultHttpContext Request(string ip, string? token)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(ip);
        if (token is not null)
        {
            context.Request.Headers.Authorization = $"Bearer {token}";
        }

        return context;
    }

    [Fact]
    public void Admin_is_disabled_without_a_token() =>
        Assert.Equal(404, AdminGuard.Check(Request("127.0.0.1", "x"), new AdminOptions())?.Status);

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    [InlineData("secret-token-extra")]
    public void Missing_or_wrong_token_is_refused(string? token) =>
        Assert.Equal(401, AdminGuard.Check(Request("127.0.0.1", token), new AdminOptions { Token = "secret-token" })?.Status);

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("192.168.1.5")]
    [InlineData("2001:db8::1")]
    public void Non_loopback_is_refused_even_with_the_token(string ip) =>
        Assert.Equal(403, AdminGuard.Check(Request(ip, "secret-token"), new AdminOptions { Token = "secret-token" })?.Status);

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public void Loopback_with_the_token_is_allowed(string ip) =>
        Assert.Null(AdminGuard.Check(Request(ip, "secret-token"), new AdminOptions { Token = "secret-token" }));

    [Fact]
    public void Allow_remote_admits_other_addresses_with_the_token()
    {
        var options = new AdminOptions { Token = "secret-token", AllowRemote = true };
        Assert.Null(AdminGuard.Check(Request("10.1.2.3", "secret-token"), options));
        Assert.Equal(401, AdminGuard.Check(Request("10.1.2.3", "nope"), options)?.Status);
    }

    [Fact]
    public void The_refusal_never_echoes_the_token()
    {
        var refused = AdminGuard.Check(Request("127.0.0.1", "wrong"), new AdminOptions { Token = "secret-token" })!.Value;
        Assert.DoesNotContain("secret-token", refused.Reason, StringComparison.Ordinal);
    }
}
