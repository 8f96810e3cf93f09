using System.Net.Http.Json;
using System.Text.Json;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>The first chain's first subscription feed as `/status` shows it.</summary>
internal static class FeedStatus
{
    /// <summary>Waits (bounded) until the feed satisfies <paramref name="condition"/>; returns it.</summary>
    public static async Task<JsonElement> WaitAsync(HttpClient client, Func<JsonElement, bool> condition)
    {
        JsonElement feeds = default;
        for (var i = 0; i < 150; i++)
        {
            feeds = (await client.GetFromJsonAsync<JsonElement>("/status")).GetProperty("chains")[0].GetProperty("subscriptions").GetProperty("feeds");
            if (feeds.GetArrayLength() > 0 && condition(feeds[0]))
            {
                return feeds[0];
            }

            await Task.Delay(100);
        }

        Assert.Fail("the feed never reached the expected state; feeds: " + feeds);
        return default;
    }

    public static Task<JsonElement> SourceAsync(HttpClient client, string source) =>
        WaitAsync(client, f => f.GetProperty("source").GetString() == source && f.GetProperty("upstream").ValueKind == JsonValueKind.String);
}
