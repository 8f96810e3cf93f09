using System.Globalization;
using System.Text.Json;
using RpcShield.Bench;
using RpcShield.Configuration;

// RpcShield bench: direct vs through RpcShield (vs nginx) on loopback, same load, same run.
// usage: dotnet run -c Release --project src/RpcShield.Bench -- [--duration 10s] [--connections 32]
//        [--scenarios single,batch10,large,failover,fanout,botmix,memory] [--botmix-connections 8,32] [--memory-duration 60s] [--memory-batch 100] [--bundles 300] [--builders-in-process] [--json artifacts/bench.json] [--no-nginx] [--builtin-load] [--alloc-profile]
const string Usage = """
    usage: dotnet run -c Release --project src/RpcShield.Bench -- [options]
      --scenarios LIST        single,batch10,large,failover,fanout,botmix,memory (default: single,batch10,large,failover,fanout)
      --duration 10s          per measured run
      --connections 32        wrk connections (single, batch10, large, failover, memory)
      --botmix-connections 8,32
      --memory-duration 60s
      --memory-batch 100      client reads per JSON-RPC batch in the memory scenario
      --bundles 300           fan-out bundles per row
      --builders-in-process   fan-out builders and node inside the bench (default: a child process, --serve-builders N)
      --json PATH             results as JSON (default artifacts/bench.json)
      --no-nginx              no comparison hops (nginx; HAProxy and Caddy on `single`) in the wrk scenarios
      --builtin-load          the built-in HttpClient load instead of wrk
      --alloc-profile         top allocating types per request of the through-RpcShield run
    """;
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Usage);
    return 0;
}

var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length && !args[x.i + 1].StartsWith("--", StringComparison.Ordinal) ? args[x.i + 1] : "true");
string Opt(string name, string fallback) => options.TryGetValue(name, out var v) ? v : fallback;
if (options.ContainsKey("serve-upstream"))
{
    await StaticUpstream.ServeUntilStdinClosesAsync(int.Parse(Opt("fail-every", "0"), CultureInfo.InvariantCulture));
    return 0;
}

if (options.ContainsKey("serve-builders"))
{
    await BuilderSinks.ServeUntilStdinClosesAsync(int.Parse(Opt("serve-builders", "10"), CultureInfo.InvariantCulture));
    return 0;
}

var duration = DurationParser.TryParse(Opt("duration", "10s"), out var d) ? d : TimeSpan.FromSeconds(10);
var connections = int.Parse(Opt("connections", "32"), CultureInfo.InvariantCulture);
var wanted = Opt("scenarios", "single,batch10,large,failover,fanout").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var jsonPath = Opt("json", "artifacts/bench.json");
var withHops = !options.ContainsKey("no-nginx");
ILoadGenerator load = !options.ContainsKey("builtin-load") && WrkLoad.IsAvailable ? new WrkLoad() : new BuiltInLoad();

Console.WriteLine($"RpcShield bench: {Environment.ProcessorCount} cores, {connections} connections, {duration.TotalSeconds}s per run, load: {(load is WrkLoad ? "wrk -t1" : "built-in HttpClient")}, comparison hops: {(withHops ? string.Join(", ", ExtraHop.Installed.DefaultIfEmpty("none installed")) : "off")}");
using var profiler = options.ContainsKey("alloc-profile") ? new AllocationProfiler() : null;
var results = new List<ScenarioResult>();
foreach (var scenario in Scenario.All.Where(s => wanted.Contains(s.Name)))
{
    results.Add(await ScenarioRunner.RunAsync(scenario, load, connections, duration, withHops, Console.Out, profiler));
}

var botmix = new List<BotMixRow>();
if (wanted.Contains("botmix"))
{
    var counts = Opt("botmix-connections", "8,32").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
    botmix = await BotMixScenario.RunAsync(counts, duration, Console.Out);
}

MemoryResult? memory = null;
if (wanted.Contains("memory"))
{
    memory = await MemoryScenario.RunAsync(connections, DurationParser.TryParse(Opt("memory-duration", "60s"), out var md) ? md : TimeSpan.FromSeconds(60), int.Parse(Opt("memory-batch", "100"), CultureInfo.InvariantCulture), Console.Out);
}

var fanout = new List<FanoutResult>();
if (wanted.Contains("fanout"))
{
    var bundles = int.Parse(Opt("bundles", "300"), CultureInfo.InvariantCulture);
    // The builders run in a process of their own unless asked otherwise (the layout of earlier rounds, for comparison).
    var separate = !options.ContainsKey("builders-in-process");
    fanout.Add(await FanoutScenario.RunAsync(builders: 10, bundles, signed: false, Console.Out, separate));
    fanout.Add(await FanoutScenario.RunAsync(builders: 10, bundles, signed: true, Console.Out, separate));
}

Report.PrintTable(results, Console.Out);
Report.PrintFanout(fanout, Console.Out);
BotMixScenario.Print(botmix, Console.Out);
MemoryScenario.Print(memory, Console.Out);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(new { scenarios = results, fanout, botmix, memory }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"JSON written to {jsonPath}");
return results.All(r => r.Through.Requests > 0) && fanout.All(f => f.Bundles > 0) ? 0 : 1;
