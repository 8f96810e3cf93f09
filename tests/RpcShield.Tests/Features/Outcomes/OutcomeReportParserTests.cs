using System.Text;
using RpcShield.Features.Outcomes;

namespace RpcShield.Tests.Features.Outcomes;

public sealed class OutcomeReportParserTests
{
    private const string Hash = "0x1111111111111111111111111111111111111111111111111111111111111111";

    [Theory]
    [InlineData("""[{"block":1,"expectedProfit":1,"outcome":"succeeded"}]""", "strategy:")]
    [InlineData("""[{"strategy":"","block":1,"expectedProfit":1,"outcome":"succeeded"}]""", "strategy:")]
    [InlineData("""[{"strategy":"s","expectedProfit":1,"outcome":"succeeded"}]""", "block:")]
    [InlineData("""[{"strategy":"s","block":-5,"expectedProfit":1,"outcome":"succeeded"}]""", "block:")]
    [InlineData("""[{"strategy":"s","block":"0xzz","expectedProfit":1,"outcome":"succeeded"}]""", "block:")]
    [InlineData("""[{"strategy":"s","block":1,"outcome":"succeeded"}]""", "expectedProfit:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":"lots","outcome":"succeeded"}]""", "expectedProfit:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1}]""", "outcome:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"won"}]""", "outcome:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"succeeded","bundleHash":"0x12"}]""", "bundleHash:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"succeeded","competitorTx":42}]""", "competitorTx:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"succeeded","latencyMs":-1}]""", "latencyMs:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"succeeded","note":7}]""", "note:")]
    [InlineData("""[{"strategy":"s","block":1,"expectedProfit":1,"outcome":"succeeded","profit":7}]""", "profit: unknown field")]
    [InlineData("""[1,2]""", "params:")]
    [InlineData("""["x"]""", "params:")]
    [InlineData("", "params:")]
    public void Bad_reports_name_the_field(string json, string expectedPrefix)
    {
        Assert.False(OutcomeReportParser.TryParse(Encoding.UTF8.GetBytes(json), null, out var report, out var error));
        Assert.Null(report);
        Assert.StartsWith(expectedPrefix, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_report_parses_as_object_or_params_array()
    {
        var body = $$"""{"strategy":"arb-7","block":"0x10","expectedProfit":"0.125","outcome":"lost_to_competitor","bundleHash":"{{Hash}}","competitorTx":"{{Hash.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal)}}","latencyMs":42.5,"note":"late"}""";
        foreach (var json in new[] { body, $"[{body}]" })
        {
            Assert.True(OutcomeReportParser.TryParse(Encoding.UTF8.GetBytes(json), null, out var report, out var error), error);
            Assert.Equal(new OutcomeReport("arb-7", 16, 0.125, "lost_to_competitor", Hash, Hash, 42.5, "late", null), report);
        }
    }

    [Fact]
    public void The_strategy_header_fills_a_missing_strategy()
    {
        Assert.True(OutcomeReportParser.TryParse("""{"block":1,"expectedProfit":0,"outcome":"other"}"""u8.ToArray(), "sandwich", out var report, out _));
        Assert.Equal("sandwich", report!.Strategy);
    }
}
