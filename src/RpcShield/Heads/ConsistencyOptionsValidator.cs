using RpcShield.Configuration;

namespace RpcShield.Heads;

/// <summary>Semantic checks of `routing.consistency`.</summary>
internal static class ConsistencyOptionsValidator
{
    public static void Validate(ConsistencyOptions options, string path, Action<string, string> error)
    {
        if (options.NonceQuorum is < 1 or > 8)
        {
            error($"{path}.nonce_quorum", "must be between 1 and 8");
        }

        if (options.HeadPoll < TimeSpan.FromMilliseconds(10))
        {
            error($"{path}.head_poll", "must be at least 10ms");
        }
    }
}
