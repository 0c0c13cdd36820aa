using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BulkData.Engine.Manifest;

namespace BulkData.Engine.Transfer;

/// <summary>One object of a fetch plan and where it goes.</summary>
internal sealed record FetchItem(ManifestEntry Entry, string FileName, string FinalPath)
{
    public string PartialPath => FetchLayout.PartialPath(FinalPath);

    public string ETagPath => FetchLayout.PartialETagPath(FinalPath);

    public string Target => $"s3://{Entry.Bucket}/{Entry.Key}";
}

/// <summary>What a finished download was checked with.</summary>
internal sealed record DownloadResult(VerificationMethod Verification, long Bytes, int Retries);

/// <summary>
/// Downloads one object into its partial file and renames it to its final name once verified. Resumes from
/// the bytes on disk with a ranged GET when the partial belongs to the same ETag; retries with backoff; pauses
/// (without counting an attempt) when the disk is low or full.
/// </summary>
internal sealed class ObjectDownloader
{
    private const int BufferSize = 256 * 1024;

    private readonly IAmazonS3 _s3;
    private readonly FetchOptions _options;
    private readonly DiskGuard _guard;
    private readonly IBulkReporter _reporter;

    public ObjectDownloader(IAmazonS3 s3, FetchOptions options, DiskGuard guard, IBulkReporter reporter)
    {
        _s3 = s3;
        _options = options;
        _guard = guard;
        _reporter = reporter;
    }

    /// <summary>Bytes of a usable partial for <paramref name="item"/> (0 when none, or when it belongs to another version).</summary>
    public static long UsablePartialLength(FetchItem item)
    {
        if (!File.Exists(item.PartialPath))
        {
            return 0;
        }

        string? recorded = File.Exists(item.ETagPath) ? File.ReadAllText(item.ETagPath).Trim() : null;
        long length = new FileInfo(item.PartialPath).Length;
        return recorded == item.Entry.ETag && length <= item.Entry.Size ? length : -1;
    }

    public async Task<DownloadResult> DownloadAsync(FetchItem item, FetchProgress progress, CancellationToken ct)
    {
        var entry = item.Entry;
        long size = entry.Size;
        long have = UsablePartialLength(item);
        if (have < 0)
        {
            _reporter.Verbose($"{item.FileName}: the partial file on disk belongs to another version of the object (or is too long): starting again from zero.");
            DeletePartial(item);
            have = 0;
        }

        if (have == 0 || !File.Exists(item.ETagPath))
        {
            await WriteETagNoteAsync(item, ct).ConfigureAwait(false);
        }

        using var bar = progress.Begin($"{item.FileName}", size, have);
        bool md5 = IsMd5ETag(entry);
        using var hasher = md5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        if (hasher is not null && have > 0)
        {
            bar.Status = $"re-reading {ByteSize.Format(have)} on disk for its MD5";
            await HashPrefixAsync(item.PartialPath, have, hasher, ct).ConfigureAwait(false);
            bar.Status = null;
        }

        var policy = new RetryPolicy(_options.RetryCount, _options.RetryBaseDelay, _options.RetryMaxDelay);
        long confirmed = have;
        bool checksumValidated = false;
        _reporter.Verbose(have > 0
            ? $"{item.FileName}: resuming at byte {have:N0} of {size:N0} ({item.Target})."
            : $"{item.FileName}: downloading {size:N0} bytes ({item.Target}).");
        bool complete = false;
        while (!complete)
        {
            ct.ThrowIfCancellationRequested();
            if (_guard.ShouldPause())
            {
                bar.Status = "paused: low disk space";
                await _guard.WaitForRoomAsync(false, ct).ConfigureAwait(false);
                bar.Status = null;
            }

            long before = confirmed;
            try
            {
                var request = new GetObjectRequest
                {
                    BucketName = entry.Bucket,
                    Key = entry.Key,
                    EtagToMatch = Quote(entry.ETag),
                };
                if (confirmed > 0)
                {
                    request.ByteRange = new ByteRange(confirmed, size - 1);
                }
                else if (!md5)
                {
                    // A whole-object GET can carry the server's checksum; the SDK validates it while streaming.
                    request.ChecksumMode = ChecksumMode.ENABLED;
                }

                using var response = await _s3.GetObjectAsync(request, ct).ConfigureAwait(false);
                string gotETag = (response.ETag ?? string.Empty).Trim('"');
                if (gotETag.Length > 0 && !string.Equals(gotETag, entry.ETag, StringComparison.Ordinal))
                {
                    throw Changed(item, gotETag);
                }

                long expected = size - confirmed;
                if (response.ContentLength != expected)
                {
                    throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the server sent {response.ContentLength:N0} bytes where {expected:N0} were expected (listed size {size:N0}); the object may have changed since it was listed.", item.Target);
                }

                checksumValidated = confirmed == 0 && HasFullObjectChecksum(response);
                using var body = response.ResponseStream;
                await using var file = new FileStream(item.PartialPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1, FileOptions.Asynchronous);
                if (file.Length != confirmed)
                {
                    file.SetLength(confirmed);
                }

                file.Position = confirmed;
                var buffer = new byte[BufferSize];
                try
                {
                    while (true)
                    {
                        int n = await body.ReadAsync(buffer, ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            break;
                        }

                        if (confirmed + n > size)
                        {
                            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: more bytes arrived than the listed size {size:N0}.", item.Target);
                        }

                        await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        hasher?.AppendData(buffer, 0, n);
                        confirmed += n;
                        bar.Add(n);
                        if (_guard.ShouldPause())
                        {
                            throw new LowSpacePause();
                        }
                    }

                    await file.FlushAsync(ct).ConfigureAwait(false);
                }
                catch
                {
                    // Keep exactly the bytes that were written in full (and hashed): the partial stays a valid prefix.
                    TryTruncate(file, confirmed);
                    throw;
                }

                if (confirmed < size)
                {
                    throw new IOException($"The connection closed after {confirmed:N0} of {size:N0} bytes.");
                }

                complete = true;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _reporter.Verbose($"{item.FileName}: cancelled at byte {confirmed:N0} of {size:N0}; the partial file is kept for a resume.");
                throw;
            }
            catch (LowSpacePause)
            {
                _reporter.Verbose($"{item.FileName}: paused at byte {confirmed:N0} of {size:N0} (low disk space).");
                bar.Status = "paused: low disk space";
                await _guard.WaitForRoomAsync(false, ct).ConfigureAwait(false);
                bar.Status = null;
            }
            catch (Exception ex) when (DiskGuard.IsNoSpace(ex))
            {
                long lost = TrueLength(item.PartialPath) is long len && len < confirmed ? confirmed - len : 0;
                _reporter.Verbose($"{item.FileName}: a write failed for lack of space at byte {confirmed:N0}; pausing.");
                bar.Status = "paused: disk full";
                await _guard.WaitForRoomAsync(true, ct).ConfigureAwait(false);
                bar.Status = null;
                if (lost > 0)
                {
                    // Should not happen (the partial was cut back to the confirmed bytes), but never trust a short file.
                    throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.FileName}: the partial file lost {lost:N0} bytes.", item.Target);
                }
            }
            catch (BulkDataException)
            {
                throw;
            }
            catch (AmazonS3Exception s3) when (s3.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                DeletePartial(item);
                throw Changed(item, null, s3);
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                var delay = policy.OnFailure(confirmed > before);
                if (delay is null)
                {
                    throw new BulkDataException(
                        BulkErrorKind.EndpointUnreachable,
                        $"{item.Target}: gave up after {_options.RetryCount + 1} attempts in a row without progress ({confirmed:N0} of {size:N0} bytes kept in '{item.PartialPath}' for a resume): {Describe(ex)}",
                        item.Target,
                        ex);
                }

                _reporter.Verbose($"{item.FileName}: attempt failed at byte {confirmed:N0} of {size:N0} ({Describe(ex)}); {(confirmed > before ? "it made progress, so it does not count" : $"{policy.FailuresWithoutProgress} of {_options.RetryCount} retries used")}; retrying in {delay.Value.TotalSeconds:0.##} s.");
                bar.Status = $"retrying in {delay.Value.TotalSeconds:0.#} s";
                await Task.Delay(delay.Value, ct).ConfigureAwait(false);
                bar.Status = null;
            }
            catch (Exception ex)
            {
                throw Translate(ex, item);
            }
        }

        // Verify, then give the file its final name.
        long onDisk = new FileInfo(item.PartialPath).Length;
        if (onDisk != size)
        {
            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: {onDisk:N0} bytes on disk where the listing says {size:N0}.", item.Target);
        }

        VerificationMethod method = VerificationMethod.Size;
        if (hasher is not null)
        {
            string actual = Convert.ToHexString(hasher.GetHashAndReset()).ToLowerInvariant();
            if (!string.Equals(actual, entry.ETag, StringComparison.OrdinalIgnoreCase))
            {
                DeletePartial(item);
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the MD5 of the downloaded bytes is {actual}, not the ETag {entry.ETag}; the download was discarded.", item.Target);
            }

            method = VerificationMethod.SizeAndMD5;
        }
        else if (checksumValidated)
        {
            method = VerificationMethod.SizeAndChecksum;
        }

        File.Move(item.PartialPath, item.FinalPath, overwrite: true);
        TryDelete(item.ETagPath);
        _reporter.Verbose($"{item.FileName}: verified ({method}) and renamed to '{item.FinalPath}'{(policy.TotalFailures > 0 ? $" after {policy.TotalFailures} interrupted attempts" : string.Empty)}.");
        return new DownloadResult(method, size, policy.TotalFailures);
    }

    internal static bool IsMd5ETag(ManifestEntry entry)
        => !entry.IsMultipart && entry.ETag.Length == 32 && entry.ETag.All(Uri.IsHexDigit);

    private static bool HasFullObjectChecksum(GetObjectResponse r)
    {
        string? value = r.ChecksumCRC32 ?? r.ChecksumCRC32C ?? r.ChecksumCRC64NVME ?? r.ChecksumSHA1 ?? r.ChecksumSHA256;
        return !string.IsNullOrEmpty(value) && !value.Contains('-');
    }

    private static string Quote(string etag) => etag.StartsWith('"') ? etag : $"\"{etag}\"";

    private static BulkDataException Changed(FetchItem item, string? now, Exception? inner = null)
        => new(BulkErrorKind.IntegrityFailure, $"{item.Target} changed since it was listed (ETag {item.Entry.ETag}{(now is null ? string.Empty : $", now {now}")}): run Get-BulkManifest again.", item.Target, inner);

    private async Task WriteETagNoteAsync(FetchItem item, CancellationToken ct)
    {
        try
        {
            await File.WriteAllTextAsync(item.ETagPath, item.Entry.ETag, ct).ConfigureAwait(false);
        }
        catch (IOException ex) when (DiskGuard.IsNoSpace(ex))
        {
            await _guard.WaitForRoomAsync(true, ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(item.ETagPath, item.Entry.ETag, ct).ConfigureAwait(false);
        }
    }

    private static async Task HashPrefixAsync(string path, long length, IncrementalHash hasher, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long left = length;
        while (left > 0)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException($"'{path}' ended before byte {length:N0}.");
            }

            hasher.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    internal static void DeletePartial(FetchItem item)
    {
        TryDelete(item.PartialPath);
        TryDelete(item.ETagPath);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryTruncate(FileStream file, long length)
    {
        try
        {
            file.SetLength(length);
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static long? TrueLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return null;
        }
    }

    internal static bool IsTransient(Exception ex)
    {
        if (ex is AmazonS3Exception s3)
        {
            int code = (int)s3.StatusCode;
            return code == 0 || code == 408 || code == 429 || code >= 500 || s3.ErrorCode is "RequestTimeout" or "SlowDown" or "InternalError";
        }

        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is IOException or HttpRequestException or SocketException or TimeoutException or TaskCanceledException or WebException)
            {
                return true;
            }
        }

        return ex is AmazonClientException;
    }

    private static string Describe(Exception ex)
    {
        var e = ex;
        while (e.InnerException is not null && (e is AmazonClientException or HttpRequestException))
        {
            e = e.InnerException;
        }

        return e.Message;
    }

    private static BulkDataException Translate(Exception ex, FetchItem item)
    {
        if (ex is AmazonS3Exception s3)
        {
            if (s3.StatusCode == HttpStatusCode.NotFound || s3.ErrorCode == "NoSuchKey")
            {
                return new BulkDataException(BulkErrorKind.ObjectNotFound, $"{item.Target} no longer exists: run Get-BulkManifest again.", item.Target, ex);
            }

            if (s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
            {
                return new BulkDataException(BulkErrorKind.AccessDenied, $"Reading {item.Target} was denied ({s3.ErrorCode ?? s3.StatusCode.ToString()}); it may need -Credential.", item.Target, ex);
            }

            return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Reading {item.Target} failed: {(int)s3.StatusCode} {s3.ErrorCode} {s3.Message}".TrimEnd(), item.Target, ex);
        }

        if (ex is UnauthorizedAccessException)
        {
            return new BulkDataException(BulkErrorKind.AccessDenied, $"Cannot write '{item.PartialPath}': {ex.Message}", item.PartialPath, ex);
        }

        return new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Fetching {item.Target} failed: {ex.Message}", item.Target, ex);
    }

    private sealed class LowSpacePause : Exception
    {
    }
}
