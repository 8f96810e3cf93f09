using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace RpcShield.Hosting.Passthrough;

/// <summary>
/// Builds the URL sent to a passthrough destination. A destination may carry a key in its path
/// (`http://h/v1/KEY`) or its query (`http://h/v2?apikey=K`): the client's path goes after the
/// destination's path and the destination's query is merged with the client's (the destination's
/// parameters win), where YARP would append the path after the query.
/// </summary>
internal static class PassthroughDestinationUrl
{
    public static Uri Build(string destination, PathString path, QueryString clientQuery)
    {
        var question = destination.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return RequestUtilities.MakeDestinationAddress(destination, path, clientQuery);
        }

        var prefix = destination[..question];
        var own = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(destination[question..]);
        var merged = new QueryString(destination[question..]);
        if (clientQuery.HasValue)
        {
            foreach (var (name, values) in Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(clientQuery.Value))
            {
                if (!own.ContainsKey(name))
                {
                    foreach (var value in values)
                    {
                        merged = merged.Add(name, value ?? "");
                    }
                }
            }
        }

        return RequestUtilities.MakeDestinationAddress(prefix, path, merged);
    }
}
