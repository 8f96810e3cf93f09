using Microsoft.Extensions.Time.Testing;
using RpcShield.Configuration;
using RpcShield.Features.Fanout;
using RpcShield.Telemetry;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.Features.Fanout;

/// <summary>
/// Enum-like option strings (`tier`, `cancel_style`, `result_shape`) are parsed once when the
/// snapshot's objects are built; the request path compares enums. The options keep their strings.
/// </summary>
public sealed class ParsedOptionEnumsTests
{
    [Theory]
    [InlineData("flashbots", null, null, "Method", "BundleHash")]
    [InlineData("titan", null, null, "Method", "StatusCode")]
    [InlineData("custom", null, null, "Method", "Any")]
    [InlineData("custom", "empty_bundle", "null", "EmptyBundle", "Null")]
    [InlineData("flashbots", "empty_bundle", "any", "EmptyBundle", "Any")]
    public void A_builders_cancel_style_and_result_shape_are_parsed_from_its_profile_and_keys(string profile, string? cancel, string? shape, string cancelName, string shapeName)
    {
        var expectedCancel = Enum.Parse<BuilderCancelStyle>(cancelName);
        var expectedShape = Enum.Parse<BuilderResultShape>(shapeName);
        var settings = BuilderSettings.Resolve(new BuilderOptions { Name = "b", Url = "http://127.0.0.1:1", Profile = profile, CancelStyle = cancel, ResultShape = shape });

        Assert.Equal(expectedCancel, settings.Cancel);
        Assert.Equal(expectedCancel == BuilderCancelStyle.EmptyBundle, settings.UsesEmptyBundleCancel);
        Assert.Equal(expectedShape, settings.Shape);
        // The configured strings stay what /status shows.
        Assert.Equal(shape ?? BuilderProfile.Get(profile).ResultShape, settings.ResultShape);
    }

    [Fact]
    public void An_upstreams_tier_is_parsed_when_its_options_are_set_and_again_on_reload()
    {
        var time = new FakeTimeProvider();
        var options = new UpstreamOptions { Name = "a", Url = "http://127.0.0.1:9", Tier = "fallback" };
        var upstream = new Upstream("main", options, new RoutingOptions(), new NullTransport(), time, new RpcShieldMetrics(new Prometheus.CollectorRegistry()));

        Assert.Equal(UpstreamTier.Fallback, upstream.Tier);
        Assert.False(upstream.IsPrimary);

        upstream.Options = new UpstreamOptions { Name = "a", Url = "http://127.0.0.1:9", Tier = "primary" };
        Assert.Equal(UpstreamTier.Primary, upstream.Tier);
        Assert.True(upstream.IsPrimary);
    }

    private sealed class NullTransport : IUpstreamTransport
    {
        public ValueTask<UpstreamResponse> PostAsync(ReadOnlyMemory<byte> body, PooledBuffer into, long maxResponseBytes, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("not sent in this test");

        public void Dispose()
        {
        }
    }
}
