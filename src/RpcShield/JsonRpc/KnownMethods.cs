using System.Collections.Frozen;

namespace RpcShield.JsonRpc;

/// <summary>
/// Method names RpcShield knows by name: interned on parse and used as metric labels. Any other
/// method is labelled `other` so a client cannot blow up metric cardinality.
/// </summary>
internal static class KnownMethods
{
    public static readonly string[] All =
    [
        "eth_blockNumber", "eth_chainId", "eth_call", "eth_estimateGas", "eth_getBalance", "eth_getCode",
        "eth_getStorageAt", "eth_getStorageValues", "eth_getTransactionCount", "eth_getBlockByNumber", "eth_getBlockByHash",
        "eth_getBlockReceipts", "eth_getBlockTransactionCountByHash", "eth_getBlockTransactionCountByNumber",
        "eth_getTransactionByHash", "eth_getTransactionByBlockHashAndIndex", "eth_getTransactionByBlockNumberAndIndex",
        "eth_getTransactionReceipt", "eth_getLogs", "eth_getProof", "eth_feeHistory", "eth_gasPrice", "eth_maxPriorityFeePerGas",
        "eth_baseFee", "eth_blobBaseFee", "eth_createAccessList", "eth_simulateV1", "eth_syncing", "eth_accounts",
        "eth_sendRawTransaction", "eth_sendTransaction", "eth_sign", "eth_subscribe", "eth_unsubscribe",
        "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter", "eth_getFilterChanges", "eth_getFilterLogs",
        "eth_uninstallFilter", "eth_capabilities", "eth_config", "eth_getUncleCountByBlockNumber", "eth_protocolVersion",
        "eth_sendBundle", "eth_callBundle", "eth_cancelBundle", "mev_sendBundle", "mev_simBundle", "eth_sendPrivateTransaction",
        "eth_sendPrivateRawTransaction", "eth_cancelPrivateTransaction", "eth_sendEndOfBlockBundle",
        "flashbots_getBundleStats", "flashbots_getBundleStatsV2", "flashbots_getUserStats", "flashbots_getUserStatsV2",
        "flashbots_getSbundleStats", "flashbots_getFeeRefundTotalsByRecipient", "flashbots_getFeeRefundsByRecipient",
        "flashbots_getFeeRefundsByBundle", "flashbots_getFeeRefundsByBlock", "flashbots_setFeeRefundRecipient",
        "flashbots_getMevRefundTotalByRecipient", "flashbots_getMevRefundTotalBySender", "titan_getBundleStats",
        "net_version", "net_listening", "net_peerCount", "web3_clientVersion", "web3_sha3",
        "debug_traceTransaction", "debug_traceCall", "debug_traceBlockByNumber", "debug_traceBlockByHash",
        "debug_getRawBlock", "debug_getRawHeader", "debug_getRawReceipts", "debug_getRawTransaction",
        "trace_block", "trace_transaction", "trace_call", "trace_filter", "trace_replayTransaction", "trace_replayBlockTransactions",
        "txpool_content", "txpool_contentFrom", "txpool_status", "txpool_inspect",
        "anvil_mine", "anvil_setCoinbase", "evm_mine", "testing_buildBlockV1",
        "rpcshield_reportOutcome", "rpcshield_status", "rpcshield_getBundleStatus",
    ];

    // Frozen: read on every request (metric labels), never changed.
    private static readonly FrozenDictionary<string, int> Indexes = All.Select((name, i) => (name, i)).ToFrozenDictionary(m => m.name, m => m.i, StringComparer.Ordinal);

    /// <summary>The method itself when known, otherwise `other` (bounded metric label).</summary>
    public static string Label(string method) => Indexes.ContainsKey(method) ? method : "other";

    /// <summary>The method's position in <see cref="All"/>, or <see cref="All"/>.Length (`other`) when it is not known.</summary>
    public static int LabelIndex(string method) => Indexes.TryGetValue(method, out var index) ? index : All.Length;
}
