using System.Text;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

public sealed class ErrorAgreementTests
{
    [Theory]
    [InlineData("""{"error":{"code":-32603,"message":"geth words"}}""", """{"error":{"message":"reth words","code":-32603}}""", true)]
    [InlineData("""{"error":{"code":3,"message":"a","data":"0xAbCd"}}""", """{"error":{"code":3,"message":"b","data":"0xabcd"}}""", true)]
    [InlineData("""{"error":{"code":-32000,"message":"a","data":{"x":[1,2]}}}""", """{"error":{"code":-32000,"message":"a","data":{ "x" : [1, 2] }}}""", true)]
    [InlineData("""{"error":{"code":-32000,"message":"a","data":null}}""", """{"error":{"code":-32000,"message":"a"}}""", true)]
    [InlineData("""{"error":{"code":-32603,"message":"a"}}""", """{"error":{"code":-32000,"message":"a"}}""", false)]
    [InlineData("""{"error":{"code":3,"message":"a","data":"0x01"}}""", """{"error":{"code":3,"message":"a","data":"0x02"}}""", false)]
    [InlineData("""{"error":{"code":3,"message":"a","data":"0x01"}}""", """{"error":{"code":3,"message":"a"}}""", false)]
    [InlineData("""{"error":{"code":3,"message":"a"}}""", """{"result":"0x1"}""", false)]
    [InlineData("""{"error":{"code":3,"message":"a"}}""", """not json""", false)]
    public void Errors_agree_on_code_and_data_never_on_wording(string first, string second, bool same) =>
        Assert.Equal(same, ErrorAgreement.Same(Encoding.UTF8.GetBytes(first), Encoding.UTF8.GetBytes(second)));
}
