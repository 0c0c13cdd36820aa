using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Manifest;

/// <summary>Lists a bucket prefix with ListObjectsV2, following every continuation page.</summary>
public sealed class BucketLister
{
    private readonly IAmazonS3 _s3;
    private readonly BucketLocation _location;

    public BucketLister(IAmazonS3 s3, BucketLocation location)
    {
        _s3 = s3;
        _location = location;
    }

    /// <summary>Raised after each page with the number of keys listed so far.</summary>
    public event Action<int, int>? PageListed;

    public async Task<IReadOnlyList<ListedObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var all = new List<ListedObject>();
        string? token = null;
        int page = 0;
        do
        {
            var request = new ListObjectsV2Request { BucketName = _location.Bucket, Prefix = prefix, ContinuationToken = token };
            ListObjectsV2Response response;
            try
            {
                response = await _s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw Translate(ex, _location, prefix);
            }

            page++;
            foreach (var o in response.S3Objects ?? new List<S3Object>())
            {
                all.Add(new ListedObject(o.Key, o.Size ?? 0, o.ETag ?? string.Empty, o.LastModified ?? DateTime.MinValue));
            }

            PageListed?.Invoke(page, all.Count);
            token = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (token is not null);

        if (all.Count == 0)
        {
            throw new BulkDataException(BulkErrorKind.EmptyListing, $"Nothing is listed under 's3://{_location.Bucket}/{prefix}'{Where(_location)}. Check -Prefix.", $"s3://{_location.Bucket}/{prefix}");
        }

        return all;
    }

    private static string Where(BucketLocation l) => l.EndpointUrl is null ? $" in {l.Region}" : $" at {l.EndpointUrl}";

    /// <summary>Turns SDK and network exceptions into a clear error that names the bucket and endpoint.</summary>
    internal static BulkDataException Translate(Exception ex, BucketLocation location, string prefix)
    {
        string target = $"s3://{location.Bucket}/{prefix}";
        if (ex is AmazonS3Exception s3)
        {
            if (s3.ErrorCode == "NoSuchBucket" || s3.StatusCode == HttpStatusCode.NotFound)
            {
                return new BulkDataException(BulkErrorKind.BucketNotFound, $"The bucket '{location.Bucket}' does not exist{Where(location)}.", target, ex);
            }

            if (s3.ErrorCode is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" || s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
            {
                return new BulkDataException(BulkErrorKind.AccessDenied, $"Access to '{target}' was denied{Where(location)} ({s3.ErrorCode ?? s3.StatusCode.ToString()}). The bucket may need -Credential, or these credentials may lack s3:ListBucket.", target, ex);
            }

            return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Listing '{target}'{Where(location)} failed: {s3.StatusCode} {s3.ErrorCode} {s3.Message}".TrimEnd(), target, ex);
        }

        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException or WebException or TimeoutException or TaskCanceledException)
            {
                string endpoint = location.EndpointUrl ?? $"the S3 endpoint of {location.Region}";
                return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Could not reach {endpoint} to list '{target}': {e.Message}", target, ex);
            }
        }

        if (ex is AmazonServiceException or AmazonClientException)
        {
            return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Listing '{target}'{Where(location)} failed: {ex.Message}", target, ex);
        }

        return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Listing '{target}'{Where(location)} failed: {ex.Message}", target, ex);
    }
}
