using RpcShield.Upstreams;

namespace RpcShield.Features.Caching;

/// <summary>A node's answer without its id: the raw `result` (or, shared in flight only, `error`) value and who served it.</summary>
internal sealed record SharedAnswer(byte[] Value, bool IsError, Upstream? ServedBy);
