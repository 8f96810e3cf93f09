namespace RpcShield.DemoBot;

/// <summary>
/// Breaks sandbox nodes on a fixed schedule through the sandbox control API (every 16 slots:
/// stop node-a at 3, heal at 6; lag node-b by 5 blocks at 8, heal at 10; stall node-a at 12, heal
/// at 15) so the output shows reads surviving each failure.
/// </summary>
internal sealed class ChaosSchedule(HttpClient http, Uri rpc, TextWriter output, bool enabled)
{
    private static readonly (int Slot, string Path, string Says)[] Steps =
    [
        (3, "nodes/node-a/stop", "node-a is stopped (connections refused)"),
        (6, "nodes/node-a/heal", "node-a is healed"),
        (8, "nodes/node-b/lag?blocks=5", "node-b now serves a head 5 blocks old"),
        (10, "nodes/node-b/heal", "node-b is healed"),
        (12, "nodes/node-a/stall", "node-a is stalled (accepts, never answers)"),
        (15, "nodes/node-a/heal", "node-a is healed"),
    ];

    public async Task StepAsync(int slot, CancellationToken cancellationToken)
    {
        if (!enabled)
        {
            return;
        }

        foreach (var step in Steps.Where(s => s.Slot == (slot % 16)))
        {
            if (await PostAsync(step.Path, cancellationToken))
            {
                await output.WriteLineAsync($"  » sandbox: {step.Says}");
            }
        }
    }

    /// <summary>Leaves the sandbox healthy when the bot exits.</summary>
    public async Task HealAllAsync()
    {
        if (!enabled)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        foreach (var node in new[] { "node-a", "node-b" })
        {
            await PostAsync($"nodes/{node}/heal", timeout.Token);
        }
    }

    private async Task<bool> PostAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.PostAsync(new Uri(rpc, "sandbox/" + path), null, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
