using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace BulkData.Engine.Storage;

/// <summary>
/// The one translation of S3 failures (SDK exceptions and HTTP statuses) into errors that name the bucket,
/// the object and the endpoint. Transient failures (5xx, 408, 429, a network error) are left for the caller's
/// retry loop as the transient exceptions they are.
/// </summary>
internal static class S3Errors
{
    /// <summary>A failed listing of <paramref name="prefix"/>.</summary>
    public static BulkDataException Listing(Exception ex, BucketLocation location, string prefix)
    {
        string target = $"s3://{location.Bucket}/{prefix}";
        if (ex is AmazonS3Exception s3)
        {
            if (s3.ErrorCode == "NoSuchBucket" || s3.StatusCode == HttpStatusCode.NotFound)
            {
                return new BulkDataException(BulkErrorKind.BucketNotFound, $"The bucket '{location.Bucket}' does not exist{location.Where}.", target, ex);
            }

            if (IsDenied(s3))
            {
                return new BulkDataException(BulkErrorKind.AccessDenied, $"Access to '{target}' was denied{location.Where} ({s3.ErrorCode ?? s3.StatusCode.ToString()}). The bucket may need -Credential, or these credentials may lack s3:ListBucket.", target, ex);
            }

            return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Listing '{target}'{location.Where} failed: {s3.StatusCode} {s3.ErrorCode} {s3.Message}".TrimEnd(), target, ex);
        }

        if (NetworkFailure(ex) is { } e)
        {
            string endpoint = location.EndpointUrl ?? $"the S3 endpoint of {location.Region}";
            return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Could not reach {endpoint} to list '{target}': {e.Message}", target, ex);
        }

        return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Listing '{target}'{location.Where} failed: {ex.Message}", target, ex);
    }

    /// <summary>A failed request about one object through the SDK (head); transient ones are returned as they are.</summary>
    public static Exception Object(Exception ex, BucketLocation location, string key)
    {
        string target = $"s3://{location.Bucket}/{key}";
        if (ex is AmazonS3Exception s3)
        {
            if (s3.StatusCode == HttpStatusCode.NotFound || s3.ErrorCode == "NoSuchKey")
            {
                return NotFound(location, key);
            }

            if (IsDenied(s3))
            {
                return new BulkDataException(BulkErrorKind.AccessDenied, $"Reading {target}{Where(location)} was denied ({s3.ErrorCode ?? s3.StatusCode.ToString()}); it may need -Credential.", target, ex);
            }

            int code = (int)s3.StatusCode;
            if (code is 429 or 503 || s3.ErrorCode is "SlowDown")
            {
                return new ThrottledException($"HTTP {code} {s3.ErrorCode}", s3.StatusCode, null, ex);
            }

            if (code == 0 || code == 408 || code == 429 || code >= 500 || s3.ErrorCode is "RequestTimeout" or "SlowDown" or "InternalError")
            {
                return new HttpRequestException($"HTTP {code} {s3.ErrorCode}", ex, s3.StatusCode);
            }

            return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Reading {target}{Where(location)} failed: {code} {s3.ErrorCode} {s3.Message}".TrimEnd(), target, ex);
        }

        return NetworkFailure(ex) is not null || ex is AmazonClientException ? new IOException(ex.Message, ex) : ex;
    }

    /// <summary>The error for an HTTP status other than 200/206 on a read of <paramref name="version"/>; transient statuses as HttpRequestException (a <see cref="ThrottledException"/> for 429 and 503, with the server's Retry-After).</summary>
    public static Exception Status(int code, string? reason, string? nowETag, BucketLocation location, StoredObject version, TimeSpan? retryAfter = null)
    {
        string target = $"s3://{location.Bucket}/{version.Key}";
        return code switch
        {
            429 or 503 => new ThrottledException($"HTTP {code} {reason}{(retryAfter is { } ra ? $" (Retry-After {ra.TotalSeconds:0.#} s)" : string.Empty)}", (HttpStatusCode)code, retryAfter),
            304 or 412 or 416 => Changed(location, version, nowETag),
            404 => NotFound(location, version.Key),
            401 or 403 => new BulkDataException(BulkErrorKind.AccessDenied, $"Reading {target}{Where(location)} was denied (HTTP {code}); it may need -Credential.", target),
            408 or 429 or >= 500 => new HttpRequestException($"HTTP {code} {reason}", null, (HttpStatusCode)code),
            _ => new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Reading {target}{Where(location)} failed: HTTP {code} {reason}.", target),
        };
    }

    /// <summary>The object now holds another version than the one listed.</summary>
    public static BulkDataException Changed(BucketLocation location, StoredObject version, string? now)
    {
        string target = $"s3://{location.Bucket}/{version.Key}";
        return new(BulkErrorKind.IntegrityFailure, $"{target} changed since it was listed (ETag {version.ETag}{(now is null ? string.Empty : $", now {now}")}): run Get-BulkManifest again.", target);
    }

    private static BulkDataException NotFound(BucketLocation location, string key)
    {
        string target = $"s3://{location.Bucket}/{key}";
        return new(BulkErrorKind.ObjectNotFound, $"{target}{Where(location)} no longer exists: run Get-BulkManifest again.", target);
    }

    private static string Where(BucketLocation location) => $" ({location.EndpointUrl ?? location.Region})";

    private static bool IsDenied(AmazonS3Exception s3)
        => s3.ErrorCode is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" || s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized;

    private static Exception? NetworkFailure(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException or WebException or TimeoutException or TaskCanceledException)
            {
                return e;
            }
        }

        return null;
    }
}

/// <summary>The server asked to slow down (429, 503 SlowDown): transient, retried after at least <see cref="RetryAfter"/> when it sent one.</summary>
internal sealed class ThrottledException : HttpRequestException
{
    public ThrottledException(string message, HttpStatusCode status, TimeSpan? retryAfter, Exception? inner = null)
        : base(message, inner, status)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>The server's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The Retry-After of a response (seconds or a date), if any.</summary>
    public static TimeSpan? Of(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? (date - DateTimeOffset.UtcNow) is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero : null;
    }
}
