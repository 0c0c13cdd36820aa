using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Text;

namespace BulkData.TestKit;

/// <summary>What the hostile listing server sends.</summary>
public enum HostileListing
{
    /// <summary>Page 2 sends page 1's continuation token again (a server going round in circles).</summary>
    RepeatingToken,

    /// <summary>Empty pages forever, each with a new continuation token.</summary>
    EmptyPagesForever,

    /// <summary>One page of good dump files among keys with control characters, absurd lengths and paths that climb out.</summary>
    BadKeys,

    /// <summary><see cref="HostileListingServer.KeyCount"/> generated dated keys, 1,000 a page.</summary>
    ManyKeys,
}

/// <summary>
/// A tiny S3 endpoint on loopback that answers ListObjectsV2 (GET /&lt;bucket&gt;?list-type=2) with hostile
/// listings, for the cases s3rver cannot serve (a token that repeats, keys S3 would not store, a million keys
/// without a million uploads). It answers nothing else (404).
/// </summary>
public sealed class HostileListingServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _pages;

    public HostileListingServer(HostileListing mode, int keyCount = 1_000_000)
    {
        Mode = mode;
        KeyCount = keyCount;
        // A free loopback port, then the listener on it.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public HostileListing Mode { get; }

    public int KeyCount { get; }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Listing pages served so far.</summary>
    public int Pages => Volatile.Read(ref _pages);

    /// <summary>The good keys of <see cref="HostileListing.BadKeys"/>: the newest dump's courts and dockets.</summary>
    public static readonly string[] GoodKeys = { "bulk-data/courts-2026-09-30.csv.bz2", "bulk-data/dockets-2026-09-30.csv.bz2" };

    /// <summary>The bad keys of <see cref="HostileListing.BadKeys"/>.</summary>
    public static readonly string[] BadKeys =
    {
        "bulk-data/dockets\n-2026-12-31.csv.bz2",
        "bulk-data/courts-2026-12-31.csv.bz2\t",
        "bulk-data/" + new string('a', 2000) + "-2026-12-31.csv.bz2",
        "bulk-data/../../etc/opinions-2026-12-31.csv.bz2",
        "/bulk-data/opinions-2026-12-31.csv.bz2",
        "bulk-data/..\\..\\opinions-2026-12-31.csv.bz2",
    };

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }

            try
            {
                Answer(context);
            }
            catch (Exception)
            {
                // A client that went away: nothing to answer.
            }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var query = context.Request.QueryString;
        if (context.Request.HttpMethod != "GET" || query["list-type"] != "2")
        {
            context.Response.StatusCode = 404;
            context.Response.Close();
            return;
        }

        Interlocked.Increment(ref _pages);
        string bucket = context.Request.Url!.AbsolutePath.Trim('/');
        string prefix = query["prefix"] ?? "";
        string? token = query["continuation-token"];
        var keys = new List<(string Key, long Size)>();
        string? next = null;
        switch (Mode)
        {
            case HostileListing.RepeatingToken:
                keys.Add(($"{prefix}courts-2026-09-30.csv.bz2", 100));
                next = "page-2-token";   // Every page, the first included, asks for the same next page.
                break;
            case HostileListing.EmptyPagesForever:
                next = $"token-{(token is null ? 1 : int.Parse(token[6..], CultureInfo.InvariantCulture) + 1)}";
                break;
            case HostileListing.BadKeys:
                keys.AddRange(GoodKeys.Select(k => (k, 100L)));
                keys.AddRange(BadKeys.Select(k => (k, 100L)));
                break;
            case HostileListing.ManyKeys:
            {
                int from = token is null ? 0 : int.Parse(token, CultureInfo.InvariantCulture);
                int to = Math.Min(KeyCount, from + 1000);
                for (int i = from; i < to; i++)
                {
                    // Dumps going back day by day, 20 datasets each: every key a valid dump file name.
                    var date = new DateTime(2026, 9, 30).AddDays(-(i / 20));
                    keys.Add(($"{prefix}dataset-{i % 20:00}-{date:yyyy-MM-dd}.csv.bz2", 1000 + i));
                }

                next = to < KeyCount ? to.ToString(CultureInfo.InvariantCulture) : null;
                break;
            }
        }

        var sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        sb.Append("<Name>").Append(Xml(bucket)).Append("</Name><Prefix>").Append(Xml(prefix)).Append("</Prefix>");
        sb.Append("<KeyCount>").Append(keys.Count).Append("</KeyCount><MaxKeys>1000</MaxKeys>");
        sb.Append("<IsTruncated>").Append(next is null ? "false" : "true").Append("</IsTruncated>");
        if (token is not null)
        {
            sb.Append("<ContinuationToken>").Append(Xml(token)).Append("</ContinuationToken>");
        }

        if (next is not null)
        {
            sb.Append("<NextContinuationToken>").Append(Xml(next)).Append("</NextContinuationToken>");
        }

        foreach (var (key, size) in keys)
        {
            sb.Append("<Contents><Key>").Append(Xml(key)).Append("</Key><LastModified>2026-10-01T00:00:00.000Z</LastModified>");
            sb.Append("<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>").Append(size).Append("</Size><StorageClass>STANDARD</StorageClass></Contents>");
        }

        sb.Append("</ListBucketResult>");
        byte[] body = Encoding.UTF8.GetBytes(sb.ToString());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/xml";
        context.Response.ContentLength64 = body.Length;
        context.Response.OutputStream.Write(body);
        context.Response.Close();
    }

    // Element text with the characters XML 1.0 allows as references (tab, newline, carriage return) written so.
    private static string Xml(string text)
        => SecurityElement.Escape(text)!.Replace("\t", "&#9;").Replace("\n", "&#10;").Replace("\r", "&#13;");

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception)
        {
        }

        _stop.Dispose();
    }
}
