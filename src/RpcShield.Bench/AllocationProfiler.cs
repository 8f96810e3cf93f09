using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace RpcShield.Bench;

/// <summary>
/// Samples allocations by type from the runtime's GCAllocationTick events (one per ~100 KB
/// allocated), in-process: `--alloc-profile` prints the top types of the through-proxy run.
/// </summary>
internal sealed class AllocationProfiler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _recording;

    public void Start()
    {
        _bytesByType.Clear();
        _recording = true;
    }

    /// <summary>Every sampled byte of the last recording (each tick reports what was allocated since the previous one).</summary>
    public long SampledTotal => _bytesByType.Values.Sum();

    public IReadOnlyList<KeyValuePair<string, long>> Stop(int top)
    {
        _recording = false;
        return _bytesByType.OrderByDescending(kv => kv.Value).Take(top).ToList();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (amountIndex < 0)
        {
            amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount");
        }

        if (typeIndex < 0 || amountIndex < 0)
        {
            return;
        }

        var type = eventData.Payload![typeIndex] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
