namespace RpcShield.Configuration;

// The proxy.yaml model. Property names bind from snake_case keys (MaxBodyBytes <- max_body_bytes).
// Init-only records: YamlBinder sets the properties once by reflection while it binds; afterwards a
// ProxyOptions instance is an immutable snapshot. A reload builds a new one and swaps it atomically
// (see ConfigStore); code that needs a variant builds it with `with`. The collections stay
// List<T>/Dictionary<K,V> for the binder, but nothing mutates them after load: the runtime reads
// them, and compiles what the request path needs into per-snapshot models (Chains/ChainRuntime,
// Routing/MethodModel). Records that hold secrets (tokens, keys, URLs, connection strings, headers)
// override ToString to print their type name only.

/// <summary>Root of proxy.yaml.</summary>
public sealed record ProxyOptions
{
    /// <summary>Listener, request limits and client authentication.</summary>
    public ServerOptions Server { get; init; } = new();
    /// <summary>Admin API (`/admin/*`).</summary>
    public AdminOptions Admin { get; init; } = new();
    /// <summary>Failure journal: a SQLite file, or a PostgreSQL database shared by a fleet.</summary>
    public JournalOptions Journal { get; init; } = new();
    /// <summary>Redis shared by a fleet of RpcShield instances (shared `max_rps` budgets); absent = every budget is local.</summary>
    public RedisOptions? Redis { get; init; }
    /// <summary>Keys used to sign builder submissions.</summary>
    public SigningOptions Signing { get; init; } = new();
    /// <summary>Chains served; the first one is also served at `/`.</summary>
    public List<ChainOptions> Chains { get; init; } = [];
    /// <summary>Non-JSON-RPC paths forwarded by YARP's route/cluster pipeline.</summary>
    public List<PassthroughOptions> Passthrough { get; init; } = [];
    /// <summary>Fault injection.</summary>
    public ChaosOptions Chaos { get; init; } = new();
    /// <summary>Local sandbox network started by `rpcshield sandbox`.</summary>
    public SandboxOptions? Sandbox { get; init; }
    /// <summary>OpenTelemetry traces (off unless `otlp_endpoint` is set).</summary>
    public TelemetryOptions Telemetry { get; init; } = new();
    /// <summary>Reorg-safe response cache, in-flight coalescing and local answers (docs/caching.md).</summary>
    public CacheOptions Cache { get; init; } = new();

    // Not a key: the values `${VAR}` substitution put into this snapshot (secrets to scrub from error text).
    internal IReadOnlyList<string> EnvironmentValues { get; init; } = [];
}

public sealed record ServerOptions
{
    /// <summary>Listen URL. Anything but loopback requires `auth_token`.</summary>
    public string Listen { get; init; } = "http://127.0.0.1:8545";
    /// <summary>Largest accepted request body (bytes); larger gets -32093 / HTTP 413.</summary>
    public long MaxBodyBytes { get; init; } = 10 * 1024 * 1024;
    /// <summary>Largest accepted batch; larger gets -32093 / HTTP 413.</summary>
    public int MaxBatchItems { get; init; } = 1000;
    /// <summary>Client token (`Authorization: Bearer …` or `?token=`). Required off loopback. At least 16 characters: blank or shorter is a config error.</summary>
    public string? AuthToken { get; init; }
    /// <summary>Upper bound of concurrent client connections. Above 90 % of it each new connection makes the least recently active keep-alive connection close (gracefully).</summary>
    public int MaxConnections { get; init; } = 10_000;
    /// <summary>JSON-RPC over WebSocket: subscription limits, keep-alive and slow-client back-pressure.</summary>
    public ServerWebSocketOptions Websocket { get; init; } = new();
    /// <summary>On SIGTERM: WebSocket clients get a 1001 close at once, in-flight requests may finish for this long, then the journal and learned priors are flushed and the process exits. Read at start. Keep the service manager's stop timeout a few seconds above it (deploy/: 10s).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Optional second listener (e.g. `http://0.0.0.0:9464`) serving only `/metrics`, `/healthz` and `/readyz`, without the client token, so Prometheus can scrape while `listen` stays on loopback; every other path is 404 there. Read at start.</summary>
    public string? MetricsListen { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(ProxyOptions);
}

public sealed record ServerWebSocketOptions
{
    /// <summary>Subscriptions one client connection may hold; more get -32005.</summary>
    public int MaxSubscriptionsPerConnection { get; init; } = 100;
    /// <summary>Subscriptions the whole process may hold; more get -32005.</summary>
    public int MaxSubscriptions { get; init; } = 10_000;
    /// <summary>Messages queued for one client; a client that lets it overflow (does not read) is disconnected.</summary>
    public int SendQueue { get; init; } = 1024;
    /// <summary>Ping sent to an idle client after this long.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>A client that does not answer a ping with a pong within this long is disconnected.</summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(20);
}

public sealed record TelemetryOptions
{
    /// <summary>OTLP/HTTP (protobuf) collector base URL, e.g. `http://127.0.0.1:4318` (`/v1/traces` is appended unless the URL has a path). Set: one span per client call with a child per upstream attempt and builder submission, continuing the bot's `traceparent`. Absent: no tracing at all. Read at start.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(ServerWebSocketOptions);
}

public sealed record AdminOptions
{
    /// <summary>Bearer token for `/admin/*`. Without it the admin API is disabled. At least 16 characters: blank or shorter is a config error.</summary>
    public string? Token { get; init; }
    /// <summary>Accept admin calls from non-loopback clients (off by default).</summary>
    public bool AllowRemote { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(AdminOptions);
}

public sealed record JournalOptions
{
    /// <summary>SQLite file. Empty disables the journal.</summary>
    public string Path { get; init; } = "rpcshield.db";
    /// <summary>Rows older than this many days are deleted.</summary>
    public int RetentionDays { get; init; } = 30;
    /// <summary>Bounded queue between the request path and the writer; overflow is dropped and counted.</summary>
    public int QueueCapacity { get; init; } = 10_000;
    /// <summary>How often learned upstream statistics (latency EWMA/percentiles, errors, health) and builder inclusion rates are persisted as priors for the next start; also written at shutdown.</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// Upper bound on the journal's size (a byte count or `512MiB`, `1GiB`; at least 1MiB): past it the
    /// oldest rows are deleted and their space reused, so the file stops growing near this size. SQLite only
    /// (a shared PostgreSQL journal is bounded by `retention_days`).
    /// </summary>
    public long MaxBytes { get; init; } = 1_073_741_824;
    /// <summary>
    /// PostgreSQL connection string (`Host=…;Database=…;Username=…;Password=${PGPASSWORD}`): the journal goes to this
    /// database, shared by a fleet of instances, instead of the SQLite file at `path`. Never logged.
    /// </summary>
    public string? Postgres { get; init; }
    /// <summary>Name this instance's journal rows carry (default: host name and listen port, e.g. `bot-1:8545`).</summary>
    public string? Instance { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(JournalOptions);
}

public sealed record RedisOptions
{
    /// <summary>`redis://[:password@]host:port[/db]` (`rediss://` for TLS). May contain `${VAR}`; never logged.</summary>
    public string Url { get; init; } = "";
    /// <summary>How many instances share each budget: with Redis unreachable each one keeps to `max_rps / expected_instances`.</summary>
    public int ExpectedInstances { get; init; } = 2;

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(RedisOptions);
}

public sealed record SigningOptions
{
    /// <summary>secp256k1 private key (hex) used for `X-Flashbots-Signature`. Reputation key: never a funded key.</summary>
    public string? FlashbotsKey { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(SigningOptions);
}

public sealed record ChainOptions
{
    /// <summary>Chain name; served at `/{name}`. Not one of RpcShield's own paths: healthz, readyz, status, metrics, admin, ui, v1, sandbox.</summary>
    public string Name { get; init; } = "";
    /// <summary>Expected `eth_chainId`; an upstream answering anything else is never used.</summary>
    public long ChainId { get; init; }
    /// <summary>Nodes serving this chain, ranked by health and latency.</summary>
    public List<UpstreamOptions> Upstreams { get; init; } = [];
    /// <summary>Ordered method routes; the first match restricts which upstreams may serve.</summary>
    public List<MethodRouteOptions> Routes { get; init; } = [];
    /// <summary>Block builders that fan-out methods (`routing.fanout`) are sent to in parallel.</summary>
    public List<BuilderOptions> Builders { get; init; } = [];
    /// <summary>Health probing, timeouts, failover, hedging, breakers, broadcast and fan-out.</summary>
    public RoutingOptions Routing { get; init; } = new();
    /// <summary>Graceful degradation full → degraded → minimal.</summary>
    public DegradationOptions Degradation { get; init; } = new();
    /// <summary>This chain's cache: any key set here overrides the top-level `cache` (docs/caching.md).</summary>
    public ChainCacheOptions? Cache { get; init; }
}

public sealed record UpstreamOptions
{
    /// <summary>Unique within the chain; used in headers, metrics, /status and the journal.</summary>
    public string Name { get; init; } = "";
    /// <summary>HTTP(S) JSON-RPC URL. May contain `${VAR}` secrets; never logged.</summary>
    public string Url { get; init; } = "";
    /// <summary>WebSocket URL used for subscriptions. With none on the chain (or none reachable), newHeads and logs are synthesised from HTTP polling (docs/websocket.md).</summary>
    public string? WsUrl { get; init; }
    /// <summary>`primary` upstreams rank before `fallback` ones.</summary>
    public string Tier { get; init; } = "primary";
    /// <summary>Request budget per second (0 = unlimited); over budget goes to the next upstream.</summary>
    public double MaxRps { get; init; }
    /// <summary>Concurrent request budget (0 = unlimited).</summary>
    public int MaxConcurrency { get; init; }
    /// <summary>Share `max_rps` with every instance using the same `redis` (keyed by chain and upstream name), probes and head polls included.</summary>
    public bool ShareBudget { get; init; }
    /// <summary>Method globs this upstream may (`allow`) or must not (`deny`) serve.</summary>
    public MethodFilterOptions Methods { get; init; } = new();
    /// <summary>`auto`: RpcShield's lean HTTP/1.1 keep-alive client for http:// URLs (fastest for a local node), .NET's HttpClient for https://. `httpclient`: always .NET's HttpClient.</summary>
    public string Transport { get; init; } = "auto";
    /// <summary>Most items of a client batch sent to this upstream as one upstream batch (reads that rank it first); 0 or 1 sends every item alone, as does a rate budget.</summary>
    public int MaxBatch { get; init; } = 100;
    /// <summary>Confirmations, quorum reads, verification and simulations go only to trusted upstreams when any is marked.</summary>
    public bool Trusted { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(ChainOptions);
}

public sealed record MethodFilterOptions
{
    /// <summary>Globs this upstream may serve (empty = all).</summary>
    public List<string> Allow { get; init; } = [];
    /// <summary>Globs this upstream must never serve.</summary>
    public List<string> Deny { get; init; } = [];
}

public sealed record MethodRouteOptions
{
    /// <summary>Method globs this route matches (`*` wildcard).</summary>
    public List<string> Methods { get; init; } = [];
    /// <summary>Names of the only upstreams allowed to serve matching methods.</summary>
    public List<string> Upstreams { get; init; } = [];
}

public sealed record BuilderOptions
{
    /// <summary>Unique within the chain; used in `X-RpcShield-Builders`, metrics and /status.</summary>
    public string Name { get; init; } = "";
    /// <summary>Builder family whose documented dialect gives the defaults of the keys below: `flashbots`, `buildernet`, `titan`, `quasar`, `beaverbuild` or `custom` (no assumptions; docs/fanout.md lists each profile's defaults). Every default is overridden by setting the key.</summary>
    public string Profile { get; init; } = "custom";
    /// <summary>Builder JSON-RPC endpoint (may contain `${VAR}`; never logged). Optional when `urls` is set.</summary>
    public string Url { get; init; } = "";
    /// <summary>Regional endpoints of the same builder (e.g. its eu/us/ap URLs; after `url` when both are set): each is measured, submissions go to the fastest healthy one and fall back to the next on failure.</summary>
    public List<string> Urls { get; init; } = [];
    /// <summary>Sign the forwarded body with `signing.flashbots_key` (default: the profile's; `custom`: false).</summary>
    public bool? Sign { get; init; }
    /// <summary>Header the signature is sent in (default: the profile's, `X-Flashbots-Signature`).</summary>
    public string? SignatureHeader { get; init; }
    /// <summary>Per-builder deadline of one submission.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Fan-out methods this builder accepts (globs; empty = the profile's; `custom`: every fan-out method).</summary>
    public List<string> Methods { get; init; } = [];
    /// <summary>Relay reads (eth_callBundle, mev_simBundle, flashbots_getBundleStatsV2, … globs) this builder answers; they go to one such builder, never to the nodes (empty = the profile's).</summary>
    public List<string> Reads { get; init; } = [];
    /// <summary>`method` (eth_cancelBundle) or `empty_bundle` (resend replacementUuid with txs: []); default: the profile's (`custom`: method).</summary>
    public string? CancelStyle { get; init; }
    /// <summary>What an acceptance looks like: `bundle_hash` (`{bundleHash}`, kept as the builder's own id), `status_code` (`200`), `null` or `any` (default: the profile's).</summary>
    public string? ResultShape { get; init; }
    /// <summary>`eth_sendBundle` / `mev_sendBundle` params[0] fields removed for this builder (default: the other profiles' dialect fields it does not take, e.g. `builders`, `replacementNonce`, `replacementSeqNumber`; `custom`: none). `[]` forwards the bot's bytes unchanged.</summary>
    public List<string>? DropFields { get; init; }
    /// <summary>Submissions per second (0 = unlimited; default: the profile's documented limit, e.g. flashbots 30, buildernet 100).</summary>
    public double? MaxRps { get; init; }
    /// <summary>Share `max_rps` with every instance using the same `redis` (keyed by chain and builder name).</summary>
    public bool ShareBudget { get; init; }
    /// <summary>Fee recipient used to attribute blocks to this builder.</summary>
    public string? Coinbase { get; init; }
    /// <summary>Substring of a block's extraData used to attribute blocks to this builder.</summary>
    public string? ExtraData { get; init; }

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(MethodFilterOptions);
}

public sealed record RoutingOptions
{
    /// <summary>Background probes and passive health.</summary>
    public HealthOptions Health { get; init; } = new();
    /// <summary>Overall and per-attempt deadlines.</summary>
    public TimeoutOptions Timeouts { get; init; } = new();
    /// <summary>Further upstreams tried after the first fails.</summary>
    public int Retries { get; init; } = 2;
    /// <summary>Send a slow read to the next upstream too; first good answer wins.</summary>
    public HedgeOptions Hedge { get; init; } = new();
    /// <summary>Per-upstream breaker; only upstream faults count.</summary>
    public CircuitBreakerOptions CircuitBreaker { get; init; } = new();
    /// <summary>Methods sent to every healthy upstream; first success wins.</summary>
    public List<string> Broadcast { get; init; } = ["eth_sendRawTransaction"];
    /// <summary>Methods sent to every builder in parallel.</summary>
    public List<string> Fanout { get; init; } =
        ["eth_sendBundle", "mev_sendBundle", "eth_cancelBundle", "eth_sendPrivateTransaction", "eth_sendPrivateRawTransaction", "eth_cancelPrivateTransaction"];
    /// <summary>
    /// After the first builder accepts a fan-out, how much longer the answer waits for the other
    /// builders so `X-RpcShield-Builders` can name them (0 = answer at once; builders still running
    /// finish in the background and are recorded in metrics and the journal).
    /// </summary>
    public TimeSpan FanoutGrace { get; init; } = TimeSpan.Zero;
    /// <summary>`eth_subscribe` over upstream `ws_url`s: when a subscription is moved to another upstream.</summary>
    public SubscriptionOptions Subscriptions { get; init; } = new();
    /// <summary>Reads that depend on the chain tip: real-time heads, `latest` pinning, nonce quorum.</summary>
    public ConsistencyOptions Consistency { get; init; } = new();
}

public sealed record ConsistencyOptions
{
    /// <summary>Nodes at the best head get a `latest` read as sent; a node known to be behind gets `latest` rewritten to the best head's number, so it answers "header not found" (and is failed over) instead of old state.</summary>
    public bool PinLatest { get; init; } = true;
    /// <summary>eth_getTransactionCount with `latest`/`pending` asks this many of the best upstreams in parallel and answers the highest (1 = one upstream, as any read).</summary>
    public int NonceQuorum { get; init; } = 2;
    /// <summary>Head polling interval (eth_getBlockByNumber "latest") for loopback upstreams without a live `ws_url` newHeads subscription.</summary>
    public TimeSpan HeadPoll { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Verified reads (opt-in): the named methods go to `quorum` upstreams at the same head and their answers are compared.</summary>
    public VerifyOptions Verify { get; init; } = new();
}

public sealed record VerifyOptions
{
    /// <summary>Methods (globs) whose reads are verified; empty: none.</summary>
    public List<string> Methods { get; init; } = [];
    /// <summary>Upstreams asked per verified read; the majority answer wins (else the best-ranked one's).</summary>
    public int Quorum { get; init; } = 2;
    /// <summary>How long an outvoted upstream stays `diverged` (ranked last).</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromMinutes(1);
}

public sealed record SubscriptionOptions
{
    /// <summary>Expected time between blocks on this chain. Subscriptions polled over HTTP poll every block_time / 4, at most 250ms.</summary>
    public TimeSpan BlockTime { get; init; } = TimeSpan.FromSeconds(12);
    /// <summary>An upstream subscription with no notification for `stall_after` × `block_time` is stalled and moved to the next-ranked upstream.</summary>
    public double StallAfter { get; init; } = 3;
    /// <summary>Blocks before the last delivered log re-read with eth_getLogs after a switch (duplicates are filtered out).</summary>
    public int BackfillMarginBlocks { get; init; } = 8;
    /// <summary>Most missed heads fetched with eth_getBlockByNumber in one gap (and the deepest reorg followed when polling); a larger gap resumes at the new head.</summary>
    public int MaxGapBlocks { get; init; } = 128;
}

public sealed record HealthOptions
{
    /// <summary>Time between probes of one upstream.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Deadline of one probe.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Consecutive failures (probes or requests) that mark an upstream unhealthy.</summary>
    public int FailAfter { get; init; } = 3;
    /// <summary>Consecutive successful probes that re-admit it.</summary>
    public int RecoverAfter { get; init; } = 2;
    /// <summary>Blocks behind the best healthy head before an upstream is excluded.</summary>
    public int MaxBlockLag { get; init; } = 2;
}

public sealed record TimeoutOptions
{
    /// <summary>Overall deadline of one client request.</summary>
    public TimeSpan Default { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Deadline of one upstream attempt.</summary>
    public TimeSpan PerAttempt { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>Per-method overall deadlines.</summary>
    public Dictionary<string, TimeSpan> Methods { get; init; } = [];
}

public sealed record HedgeOptions
{
    /// <summary>Hedge idempotent reads (never sends, filters or fan-out).</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Latency quantile of the method after which a hedge is sent.</summary>
    public double Quantile { get; init; } = 0.9;
    /// <summary>Lower clamp of the hedge delay.</summary>
    public TimeSpan Min { get; init; } = TimeSpan.FromMilliseconds(20);
    /// <summary>Upper clamp of the hedge delay.</summary>
    public TimeSpan Max { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>Extra parallel requests at most.</summary>
    public int MaxExtra { get; init; } = 1;
    /// <summary>Hedge delay used until the method has 20 latency samples (clamped to [min, max]).</summary>
    public TimeSpan ColdStart { get; init; } = TimeSpan.FromMilliseconds(250);
}

public sealed record CircuitBreakerOptions
{
    /// <summary>Failure ratio in the window that opens the breaker.</summary>
    public double FailureRatio { get; init; } = 0.5;
    /// <summary>Attempts needed in the window before the ratio counts.</summary>
    public int MinRequests { get; init; } = 10;
    /// <summary>Sampling window of the failure ratio.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long an open breaker keeps the upstream out before a half-open trial.</summary>
    public TimeSpan Break { get; init; } = TimeSpan.FromSeconds(15);
}

public sealed record DegradationOptions
{
    /// <summary>Degraded when healthy upstreams fall below this (capped at the number configured).</summary>
    public int DegradedBelowHealthy { get; init; } = 2;
    /// <summary>Minimal when healthy upstreams fall below this (capped at the number configured).</summary>
    public int MinimalBelowHealthy { get; init; } = 1;
    /// <summary>Method globs answered -32092 while degraded.</summary>
    public List<string> ShedInDegraded { get; init; } = ["debug_*", "trace_*"];
    /// <summary>In minimal mode, broadcast and fan-out methods get -32091.</summary>
    public bool RejectSendsInMinimal { get; init; } = true;
    /// <summary>Hysteresis: least time in a mode, and of sustained health before recovering.</summary>
    public TimeSpan MinTimeInMode { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Failure ratio of upstream attempts (over `routing.circuit_breaker.window`) at which the chain is degraded (0 disables).</summary>
    public double DegradedAboveFailureRate { get; init; } = 0.5;
    /// <summary>Failure ratio at which the chain goes minimal (sustained failure; 0 disables).</summary>
    public double MinimalAboveFailureRate { get; init; } = 0.9;
    /// <summary>Attempts needed in the window before the failure ratio counts.</summary>
    public int FailureMinRequests { get; init; } = 20;
}

public sealed record PassthroughOptions
{
    /// <summary>
    /// YARP route path pattern, e.g. `/beacon/{**rest}`. It must start with a literal segment that is
    /// not a chain name or an RpcShield endpoint. The literal prefix before the first `{` is removed
    /// when forwarding (`/beacon/eth/v1/node/health` → `{destination}/eth/v1/node/health`).
    /// </summary>
    public string Path { get; init; } = "";
    /// <summary>Destination base URLs (http/https); requests are balanced across the healthy ones.</summary>
    public List<string> Destinations { get; init; } = [];
    /// <summary>Active health check path on each destination (YARP active health checks; 2 consecutive failures take one out).</summary>
    public string? HealthPath { get; init; }
    /// <summary>Interval of the active health check.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Timeout of one active health check request.</summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>`power_of_two_choices` (default), `round_robin`, `least_requests`, `random` or `first`.</summary>
    public string LoadBalancing { get; init; } = "power_of_two_choices";
    /// <summary>
    /// Headers set on every forwarded request and health probe (header name → value, e.g.
    /// `{ Authorization: "${BEACON_AUTH}" }`). The client's own `Authorization` header and `token`
    /// query parameter are never forwarded; values may hold secrets and are never logged.
    /// </summary>
    public Dictionary<string, string> Headers { get; init; } = [];

    /// <summary>The type name only: this record holds secrets, which the generated ToString would print.</summary>
    public override string ToString() => nameof(RoutingOptions);
}

public sealed record ChaosOptions
{
    /// <summary>Master switch; no rule injects anything unless this is true (or armed at runtime).</summary>
    public bool Enabled { get; init; }
    /// <summary>Honour the per-request `X-RpcShield-Chaos` header.</summary>
    public bool AllowHeader { get; init; }
    /// <summary>Cap on the rate of header and runtime rules.</summary>
    public double MaxRate { get; init; } = 1.0;
    /// <summary>Cap on the latency of header and runtime rules (and on how long a header `timeout` hangs).</summary>
    public TimeSpan MaxLatency { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Most rules active at once (static + runtime); header chaos is ignored at the cap.</summary>
    public int MaxActiveRules { get; init; } = 20;
    /// <summary>Static fault rules (inactive unless chaos is enabled or armed at runtime).</summary>
    public List<ChaosRuleOptions> Rules { get; init; } = [];
}

public sealed record ChaosRuleOptions
{
    /// <summary>Unique rule name (the `rule` label of rpcshield_chaos_injections_total).</summary>
    public string Name { get; init; } = "";
    /// <summary>`client`, `upstream` or `builder`.</summary>
    public string Scope { get; init; } = "client";
    /// <summary>Chains the rule applies to (empty = all).</summary>
    public List<string> Chains { get; init; } = [];
    /// <summary>Upstream or builder names (empty = all).</summary>
    public List<string> Targets { get; init; } = [];
    /// <summary>Method globs (`eth_call`, `eth_get*`; empty = all).</summary>
    public List<string> Methods { get; init; } = [];
    /// <summary>http_500, http_429, jsonrpc_error, latency, timeout, reset, stale_head, ws_disconnect, builder_reject, builder_timeout.</summary>
    public string Fault { get; init; } = "latency";
    /// <summary>Fraction of matching requests touched (0..1).</summary>
    public double Rate { get; init; } = 1.0;
    /// <summary>`100ms` or `1ms..500ms`.</summary>
    public string? Latency { get; init; }
    /// <summary>Code of `jsonrpc_error` (default -32094).</summary>
    public int? ErrorCode { get; init; }
    /// <summary>Message of `jsonrpc_error` (always prefixed `chaos: `).</summary>
    public string? ErrorMessage { get; init; }
    /// <summary>Blocks behind for `stale_head`.</summary>
    public int StaleBlocks { get; init; } = 3;
    /// <summary>`Retry-After` of `http_429` (default 1s).</summary>
    public TimeSpan? RetryAfter { get; init; }
    /// <summary>Allow post-forward faults on send methods.</summary>
    public bool AllowSends { get; init; }
}

public sealed record SandboxOptions
{
    /// <summary>Seconds between blocks on the sandbox chain.</summary>
    public TimeSpan Slot { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Port of the sandbox anvil (0 = ephemeral).</summary>
    public int AnvilPort { get; init; } = 18500;
    /// <summary>Node endpoints in front of the anvil chain; the upstreams in `chains` point at these ports.</summary>
    public List<SandboxNodeOptions> Nodes { get; init; } = [];
    /// <summary>Sandbox builders speaking the real builder wire format.</summary>
    public List<SandboxBuilderOptions> Builders { get; init; } = [];
}

public sealed record SandboxNodeOptions
{
    /// <summary>Node endpoint name (used by the control API).</summary>
    public string Name { get; init; } = "";
    /// <summary>Loopback port the node endpoint listens on.</summary>
    public int Port { get; init; }
    /// <summary>Added latency for every request to this node.</summary>
    public TimeSpan Latency { get; init; } = TimeSpan.Zero;
}

public sealed record SandboxBuilderOptions
{
    /// <summary>Builder name (used by the control API and attribution).</summary>
    public string Name { get; init; } = "";
    /// <summary>Loopback port the builder listens on.</summary>
    public int Port { get; init; }
    /// <summary>Relative chance to win a slot.</summary>
    public double Weight { get; init; } = 1;
    /// <summary>Coinbase the builder sets when it wins.</summary>
    public string Coinbase { get; init; } = "";
    /// <summary>Require a valid `X-Flashbots-Signature`.</summary>
    public bool RequireSignature { get; init; }
}

public sealed record CacheOptions
{
    /// <summary>Serve repeated reads from memory (final data until evicted, head data while the best head is unchanged), share identical reads in flight, answer eth_chainId and net_version (kept from the first answer) and eth_blockNumber (while a live newHeads feed tracks the head) locally; steps aside while chaos is armed. A request with `Cache-Control: no-cache` bypasses it.</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Upper bound of the cached answers per chain (a byte count or `64MiB`, `1GiB`; at least 1MiB); the least recently used are evicted past it.</summary>
    public long MaxBytes { get; init; } = 67_108_864;
    /// <summary>Blocks below the head counted as final when the node does not answer the `finalized` tag.</summary>
    public int FinalityDepth { get; init; } = 64;
}

public sealed record ChainCacheOptions
{
    /// <summary>Overrides `cache.enabled` for this chain.</summary>
    public bool? Enabled { get; init; }
    /// <summary>Overrides `cache.max_bytes` for this chain (a byte count or `64MiB`; at least 1MiB).</summary>
    public long? MaxBytes { get; init; }
    /// <summary>Overrides `cache.finality_depth` for this chain.</summary>
    public int? FinalityDepth { get; init; }
    /// <summary>Per-method switch: `eth_getLogs: false` never caches (nor coalesces) that method on this chain.</summary>
    public Dictionary<string, bool> Methods { get; init; } = [];
}
