using RpcShield.DemoBot;

var options = BotOptions.Parse(args, Console.Error);
if (options is null)
{
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
// `kill` / a supervisor's SIGTERM also ends the run cleanly, with totals.
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});
if (options.Duration is { } duration)
{
    stop.CancelAfter(duration);
}

using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
var bot = new Bot(options, http, Console.Out);
return await bot.RunAsync(stop.Token);
