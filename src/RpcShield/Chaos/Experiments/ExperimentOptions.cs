using RpcShield.Configuration;

namespace RpcShield.Chaos.Experiments;

/// <summary>A game day in a file (`rpcshield chaos run EXPERIMENT.yaml`). Same binder as proxy.yaml: snake_case, `${VAR}`, unknown keys are errors.</summary>
internal sealed class ExperimentOptions
{
    public string Name { get; set; } = "experiment";
    public string? Description { get; set; }
    /// <summary>JSON-RPC URL of the proxy under test (`http://127.0.0.1:8545` or `…/mainnet`).</summary>
    public string Target { get; set; } = "http://127.0.0.1:8545";
    /// <summary>Where `/admin` and `/metrics` live (default: scheme://host:port of `target`).</summary>
    public string? AdminUrl { get; set; }
    /// <summary>The proxy's `admin.token` (use `${RPCSHIELD_ADMIN_TOKEN}`).</summary>
    public string? AdminToken { get; set; }
    /// <summary>The proxy's `server.auth_token`, when set.</summary>
    public string? AuthToken { get; set; }
    public ProbeOptions Probe { get; set; } = new();
    public HypothesisOptions Hypothesis { get; set; } = new();
    public BlastRadiusOptions BlastRadius { get; set; } = new();
    public PhaseOptions Phases { get; set; } = new();
    /// <summary>Rules armed through the admin API during the chaos phase (same keys as `chaos.rules`).</summary>
    public List<ChaosRuleOptions> Faults { get; set; } = [];
    /// <summary>Stop injecting at once when the chaos phase breaks these limits (omit for no abort).</summary>
    public AbortOptions? Abort { get; set; }
}

internal sealed class ProbeOptions
{
    /// <summary>Methods called with empty params, in rotation.</summary>
    public List<string> Methods { get; set; } = ["eth_blockNumber"];
    /// <summary>Raw JSON-RPC request bodies, in rotation (used instead of `methods` when set).</summary>
    public List<string> Requests { get; set; } = [];
    /// <summary>Probe requests per second (all workers together).</summary>
    public double Rate { get; set; } = 20;
    public int Concurrency { get; set; } = 2;
    /// <summary>A probe slower than this is a failure.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Steady state: what "the system works" means.</summary>
internal sealed class HypothesisOptions
{
    /// <summary>Minimum fraction of successful probes (HTTP 200, a JSON-RPC result, no error).</summary>
    public double SuccessRate { get; set; } = 0.999;
    /// <summary>Maximum p99 probe latency (omit to not judge latency).</summary>
    public TimeSpan? P99 { get; set; }
}

/// <summary>What the faults may touch: rules default to (and must stay inside) these.</summary>
internal sealed class BlastRadiusOptions
{
    public List<string> Chains { get; set; } = [];
    /// <summary>Upstream/builder names the upstream- and builder-scope faults may target (empty = any).</summary>
    public List<string> Targets { get; set; } = [];
    public List<string> Methods { get; set; } = [];
    /// <summary>Caps every fault's rate.</summary>
    public double MaxRate { get; set; } = 1.0;
}

internal sealed class PhaseOptions
{
    public TimeSpan Baseline { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan Chaos { get; set; } = TimeSpan.FromSeconds(60);
    public TimeSpan Recovery { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class AbortOptions
{
    /// <summary>Abort when the window's success rate falls below this.</summary>
    public double? SuccessRate { get; set; }
    /// <summary>Abort when the window's p99 exceeds this.</summary>
    public TimeSpan? P99 { get; set; }
    /// <summary>Sliding window the limits are judged on.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Fewer probes than this in the window never abort.</summary>
    public int MinSamples { get; set; } = 5;
}

internal static class ExperimentLoader
{
    public static ExperimentOptions Load(string yaml, Func<string, string?> environment, out List<string> errors)
    {
        var options = YamlBinder.Bind<ExperimentOptions>(yaml, environment, out var bindErrors);
        errors = bindErrors.Select(e => e.ToString()).ToList();
        if (options is null)
        {
            return new ExperimentOptions();
        }

        Validate(options, errors);
        return options;
    }

    private static void Validate(ExperimentOptions o, List<string> errors)
    {
        if (!Uri.TryCreate(o.Target, UriKind.Absolute, out var target) || (target.Scheme != "http" && target.Scheme != "https"))
        {
            errors.Add("target: must be an http(s) URL");
        }

        if (o.Probe.Rate <= 0 || o.Probe.Concurrency <= 0 || (o.Probe.Methods.Count == 0 && o.Probe.Requests.Count == 0))
        {
            errors.Add("probe: rate and concurrency must be positive and at least one method or request is required");
        }

        if (o.Hypothesis.SuccessRate is < 0 or > 1)
        {
            errors.Add("hypothesis.success_rate: must be between 0 and 1");
        }

        if (o.Phases.Baseline < TimeSpan.Zero || o.Phases.Chaos <= TimeSpan.Zero || o.Phases.Recovery < TimeSpan.Zero)
        {
            errors.Add("phases: chaos must be positive, baseline and recovery not negative");
        }

        if (o.BlastRadius.MaxRate is < 0 or > 1)
        {
            errors.Add("blast_radius.max_rate: must be between 0 and 1");
        }

        if (o.Faults.Count == 0)
        {
            errors.Add("faults: at least one fault is required");
        }

        if (o.Faults.Count > 0 && string.IsNullOrEmpty(o.AdminToken))
        {
            errors.Add("admin_token: required to arm faults through the admin API");
        }

        for (var i = 0; i < o.Faults.Count; i++)
        {
            var fault = o.Faults[i];
            if (ChaosRule.From(fault, "experiment", null, out var error) is null)
            {
                errors.Add($"faults[{i}]: {error}");
            }

            Inside(fault.Chains, o.BlastRadius.Chains, $"faults[{i}].chains", errors);
            Inside(fault.Targets, o.BlastRadius.Targets, $"faults[{i}].targets", errors);
            Inside(fault.Methods, o.BlastRadius.Methods, $"faults[{i}].methods", errors);
        }
    }

    private static void Inside(List<string> values, List<string> radius, string path, List<string> errors)
    {
        if (radius.Count > 0 && values.Any(v => !radius.Contains(v, StringComparer.Ordinal)))
        {
            errors.Add($"{path}: outside the blast radius");
        }
    }

    /// <summary>The rule as armed: blast radius filled in where the fault leaves it open, rate capped.</summary>
    public static ChaosRuleOptions Confine(ChaosRuleOptions fault, BlastRadiusOptions radius) => new()
    {
        Name = fault.Name,
        Scope = fault.Scope,
        Chains = fault.Chains.Count > 0 ? fault.Chains : radius.Chains,
        Targets = fault.Targets.Count > 0 || fault.Scope == "client" ? fault.Targets : radius.Targets,
        Methods = fault.Methods.Count > 0 ? fault.Methods : radius.Methods,
        Fault = fault.Fault,
        Rate = Math.Min(fault.Rate, radius.MaxRate),
        Latency = fault.Latency,
        ErrorCode = fault.ErrorCode,
        ErrorMessage = fault.ErrorMessage,
        StaleBlocks = fault.StaleBlocks,
        RetryAfter = fault.RetryAfter,
        AllowSends = fault.AllowSends,
    };
}
