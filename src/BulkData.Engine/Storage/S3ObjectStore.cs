using System.Net;
using System.Net.Http.Headers;
using Amazon.S3;
using Amazon.S3.Model;

namespace BulkData.Engine.Storage;

/// <summary>
/// A bucket of S3 or of an S3-compatible server (path-style). Owns the SDK client, used for listing, head and
/// signing, and the HTTP path bodies are read through: a plain pooled HttpClient (the fast path), with each URL
/// presigned (SigV4, valid one hour) when there are credentials, else the object's public URL (path-style on
/// a custom endpoint, virtual-hosted on AWS). Every failure goes through <see cref="S3Errors"/>.
/// </summary>
internal sealed class S3ObjectStore : IObjectStore
{
    /// <summary>One client for every read: pooled connections, no overall timeout (callers time out stalls per read).</summary>
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(30),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(4),
        MaxConnectionsPerServer = int.MaxValue,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly BucketLocation _location;
    private readonly S3Credentials? _credentials;
    private readonly Lazy<IAmazonS3> _s3;

    public S3ObjectStore(BucketLocation location, S3Credentials? credentials)
    {
        _location = location;
        _credentials = credentials;
        _location.EndpointUri(); // a bad endpoint fails here, before any request
        // The SDK's own retries are off: listing and HEAD follow the one RetryPolicy (as GETs do).
        _s3 = new Lazy<IAmazonS3>(() => S3ClientFactory.Create(location, credentials, maxErrorRetry: 0), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public BucketLocation Location => _location;

    public string Describe(string key) => $"s3://{_location.Bucket}/{key}";

    public async Task<ObjectPage> ListPageAsync(string prefix, string? continuationToken, CancellationToken ct)
    {
        var request = new ListObjectsV2Request { BucketName = _location.Bucket, Prefix = prefix, ContinuationToken = continuationToken };
        ListObjectsV2Response response;
        try
        {
            response = await WithRetryAsync(() => _s3.Value.ListObjectsV2Async(request, ct), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw S3Errors.Listing(ex, _location, prefix);
        }

        var objects = (response.S3Objects ?? new List<S3Object>())
            .Select(o => new StoredObject(o.Key, o.Size ?? 0, Unquote(o.ETag), o.LastModified ?? DateTime.MinValue))
            .ToList();
        return new ObjectPage(objects, response.IsTruncated == true ? response.NextContinuationToken : null);
    }

    public async Task<StoredObject> HeadAsync(string key, CancellationToken ct)
    {
        try
        {
            var head = await WithRetryAsync(() => _s3.Value.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _location.Bucket, Key = key }, ct), ct).ConfigureAwait(false);
            return new StoredObject(key, head.ContentLength, Unquote(head.ETag), head.LastModified ?? DateTime.MinValue);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw S3Errors.Object(ex, _location, key);
        }
    }

    public async Task<ObjectRead> OpenReadAsync(StoredObject version, long offset, bool wantChecksum, CancellationToken ct)
    {
        string target = Describe(version.Key);
        using var request = new HttpRequestMessage(HttpMethod.Get, await UrlForAsync(version.Key).ConfigureAwait(false));
        request.Headers.IfMatch.Add(new EntityTagHeaderValue(Quote(version.ETag)));
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, version.Size - 1);
        }
        else if (wantChecksum)
        {
            // A whole-object GET can carry the server's own checksum of the body.
            request.Headers.TryAddWithoutValidation("x-amz-checksum-mode", "ENABLED");
        }

        var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        try
        {
            int code = (int)response.StatusCode;
            string now = Unquote(response.Headers.ETag?.Tag);
            if (code is not (200 or 206))
            {
                throw S3Errors.Status(code, response.ReasonPhrase, now.Length > 0 ? now : null, _location, version, ThrottledException.Of(response));
            }

            if (now.Length > 0 && !string.Equals(now, version.ETag, StringComparison.Ordinal))
            {
                throw S3Errors.Changed(_location, version, now);
            }

            // 200 to a ranged request: the server ignored the range and sends the whole object.
            long start = offset > 0 && response.StatusCode == HttpStatusCode.OK ? 0 : offset;
            if (start > 0 && response.Content.Headers.ContentRange is { } range && (range.From != start || range.Length is long total && total != version.Size))
            {
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{target}: the server answered a request for bytes {start:N0}- with {range}; the object may have changed since it was listed.", target);
            }

            long expected = version.Size - start;
            if (response.Content.Headers.ContentLength is long length && length != expected)
            {
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{target}: the server sent {length:N0} bytes where {expected:N0} were expected (listed size {version.Size:N0}); the object may have changed since it was listed.", target);
            }

            var checksum = start == 0 ? ChecksumOf(response) : null;
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return new ObjectRead(body, start, checksum, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Attempts of a listing page or HEAD, by the one <see cref="RetryPolicy"/>: retries and budget as for a transfer's GETs.</summary>
    internal TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts in a row that failed on the network (not throttled) before a listing or HEAD gives up: as many as a transfer's GETs by default (-RetryCount 5).</summary>
    internal const int RequestRetryCount = 5;

    /// <summary>
    /// Attempts in a row that found nobody there (connection refused, no such host or network) before a listing or HEAD
    /// gives up: a server that restarts is back within seconds, and a wrong -EndpointUrl is said in seconds, not minutes.
    /// </summary>
    internal const int UnreachableRetryCount = 2;

    private async Task<T> WithRetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        var policy = new RetryPolicy(RequestRetryCount, RetryBaseDelay, TimeSpan.FromSeconds(30));
        int unreachable = 0;
        while (true)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && Retryable(ex, out bool throttled))
            {
                unreachable = IsUnreachable(ex) ? unreachable + 1 : 0;
                if (unreachable > UnreachableRetryCount)
                {
                    throw;
                }

                var delay = policy.OnFailure(false, throttled);
                if (delay is null)
                {
                    throw;
                }

                await Task.Delay(delay.Value, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>True when the request found nobody at the address: refused, or no such host or network.</summary>
    internal static bool IsUnreachable(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable or System.Net.Sockets.SocketError.NoData })
            {
                return true;
            }
        }

        return false;
    }

    private static bool Retryable(Exception ex, out bool throttled)
    {
        throttled = false;
        if (ex is AmazonS3Exception s3)
        {
            int code = (int)s3.StatusCode;
            throttled = code is 429 or 503 || s3.ErrorCode is "SlowDown";
            return throttled || code is 0 or 408 or >= 500 || s3.ErrorCode is "RequestTimeout" or "InternalError";
        }

        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or System.Net.Sockets.SocketException or IOException or TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The unsigned URL of an object.</summary>
    internal static Uri PublicUrl(BucketLocation location, string objectKey)
    {
        string key = string.Join('/', objectKey.Split('/').Select(Uri.EscapeDataString));
        if (location.EndpointUri() is { } endpoint)
        {
            return new Uri($"{endpoint.AbsoluteUri.TrimEnd('/')}/{Uri.EscapeDataString(location.Bucket)}/{key}", UriKind.Absolute);
        }

        // Virtual-hosted style where the bucket name is a plain DNS label (the public bucket is), else path style.
        bool dnsSafe = location.Bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
        return dnsSafe
            ? new Uri($"https://{location.Bucket}.s3.{location.Region}.amazonaws.com/{key}", UriKind.Absolute)
            : new Uri($"https://s3.{location.Region}.amazonaws.com/{Uri.EscapeDataString(location.Bucket)}/{key}", UriKind.Absolute);
    }

    private async Task<Uri> UrlForAsync(string key)
    {
        if (_credentials is null)
        {
            return PublicUrl(_location, key);
        }

        bool http = _location.EndpointUrl is not null && _location.EndpointUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
        string url = await _s3.Value.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = _location.Bucket,
            Key = key,
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow.AddHours(1),
            Protocol = http ? Protocol.HTTP : Protocol.HTTPS,
        }).ConfigureAwait(false);
        return new Uri(url, UriKind.Absolute);
    }

    private static ObjectChecksum? ChecksumOf(HttpResponseMessage response)
    {
        string? type = response.Headers.TryGetValues("x-amz-checksum-type", out var t) ? t.FirstOrDefault() : null;
        foreach (var header in ObjectChecksum.Headers)
        {
            if (response.Headers.TryGetValues(header, out var values) && ObjectChecksum.For(header, values.FirstOrDefault(), type) is { } checksum)
            {
                return checksum;
            }
        }

        return null;
    }

    private static string Quote(string etag) => etag.StartsWith('"') ? etag : $"\"{etag}\"";

    private static string Unquote(string? etag) => (etag ?? string.Empty).Trim('"');

    public void Dispose()
    {
        if (_s3.IsValueCreated)
        {
            _s3.Value.Dispose();
        }
    }
}
