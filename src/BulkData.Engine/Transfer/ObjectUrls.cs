using Amazon.S3;
using Amazon.S3.Model;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>
/// The URL a transfer reads an object from. Bytes are read with a plain HttpClient (the fast path); the SDK
/// only signs: with credentials each URL is presigned (SigV4, valid one hour), anonymously it is the object's
/// public URL (path-style on a custom endpoint, virtual-hosted on AWS).
/// </summary>
public sealed class ObjectUrls : IDisposable
{
    private readonly S3Credentials? _credentials;
    private readonly Dictionary<(string?, string), IAmazonS3> _clients = new();
    private readonly object _gate = new();

    public ObjectUrls(S3Credentials? credentials)
    {
        _credentials = credentials;
    }

    public async Task<Uri> UrlForAsync(ManifestEntry entry)
    {
        if (_credentials is null)
        {
            return PublicUrl(entry);
        }

        IAmazonS3 s3;
        lock (_gate)
        {
            var key = (entry.EndpointUrl, entry.Region);
            if (!_clients.TryGetValue(key, out s3!))
            {
                s3 = S3ClientFactory.Create(new BucketLocation { Bucket = entry.Bucket, Region = entry.Region, EndpointUrl = entry.EndpointUrl }, _credentials, maxErrorRetry: 0, maxStaleConnectionRetries: 0);
                _clients[key] = s3;
            }
        }

        bool http = entry.EndpointUrl is not null && entry.EndpointUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
        string url = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = entry.Bucket,
            Key = entry.Key,
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow.AddHours(1),
            Protocol = http ? Protocol.HTTP : Protocol.HTTPS,
        }).ConfigureAwait(false);
        return new Uri(url, UriKind.Absolute);
    }

    /// <summary>The unsigned URL of an object.</summary>
    public static Uri PublicUrl(ManifestEntry entry)
    {
        string key = string.Join('/', entry.Key.Split('/').Select(Uri.EscapeDataString));
        if (!string.IsNullOrEmpty(entry.EndpointUrl))
        {
            if (!Uri.TryCreate(entry.EndpointUrl, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != "http" && endpoint.Scheme != "https"))
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The endpoint URL '{entry.EndpointUrl}' is not an absolute http or https URL.", entry.EndpointUrl);
            }

            return new Uri($"{endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/')}/{Uri.EscapeDataString(entry.Bucket)}/{key}", UriKind.Absolute);
        }

        // Virtual-hosted style where the bucket name is a plain DNS label (the public bucket is), else path style.
        bool dnsSafe = entry.Bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
        return dnsSafe
            ? new Uri($"https://{entry.Bucket}.s3.{entry.Region}.amazonaws.com/{key}", UriKind.Absolute)
            : new Uri($"https://s3.{entry.Region}.amazonaws.com/{Uri.EscapeDataString(entry.Bucket)}/{key}", UriKind.Absolute);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var c in _clients.Values)
            {
                c.Dispose();
            }

            _clients.Clear();
        }
    }
}
