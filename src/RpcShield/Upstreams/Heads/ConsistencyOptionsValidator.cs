using RpcShield.Configuration;

namespace RpcShield.Upstreams.Heads;

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

        if (options.Verify.Quorum is < 2 or > 8)
        {
            error($"{path}.verify.quorum", "must be between 2 and 8");
        }

        if (options.Verify.Cooldown <= TimeSpan.Zero)
        {
            error($"{path}.verify.cooldown", "must be a positive duration");
        }

        for (var i = 0; i < options.Verify.Methods.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Verify.Methods[i]))
            {
                error($"{path}.verify.methods[{i}]", "must not be empty");
            }
        }
    }
}
