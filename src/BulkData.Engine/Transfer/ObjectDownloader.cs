using BulkData.Engine.DumpFiles;
using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
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
    private const int BufferSize = 512 * 1024;
    private const int SliceSize = 64 * 1024;

    /// <summary>One client for every transfer: pooled connections, no overall timeout (a stall timeout per read instead).</summary>
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

    private readonly ObjectUrls _urls;
    private readonly FetchOptions _options;
    private readonly DiskGuard _guard;
    private readonly IBulkReporter _reporter;

    public ObjectDownloader(ObjectUrls urls, FetchOptions options, DiskGuard guard, IBulkReporter reporter)
    {
        _urls = urls;
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
        var hasher = md5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        ObjectChecksum? checksum = null;
        try
        {
        if (hasher is not null && have > 0)
        {
            bar.Status = $"re-reading {ByteSize.Format(have)} on disk for its MD5";
            await HashPrefixAsync(item.PartialPath, have, hasher, ct).ConfigureAwait(false);
            bar.Status = null;
        }

        var policy = new RetryPolicy(_options.RetryCount, _options.RetryBaseDelay, _options.RetryMaxDelay);
        long confirmed = have;
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
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
                stall.CancelAfter(_options.StallTimeout);
                using var request = new HttpRequestMessage(HttpMethod.Get, await _urls.UrlForAsync(entry).ConfigureAwait(false));
                request.Headers.IfMatch.Add(new EntityTagHeaderValue(Quote(entry.ETag)));
                if (confirmed > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(confirmed, size - 1);
                }
                else if (!md5)
                {
                    // A whole-object GET can carry the server's own checksum of the body.
                    request.Headers.TryAddWithoutValidation("x-amz-checksum-mode", "ENABLED");
                }

                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
                CheckStatus(response, item);
                string gotETag = (response.Headers.ETag?.Tag ?? string.Empty).Trim('"');
                if (gotETag.Length > 0 && !string.Equals(gotETag, entry.ETag, StringComparison.Ordinal))
                {
                    throw Changed(item, gotETag);
                }

                if (confirmed > 0 && response.StatusCode == HttpStatusCode.OK)
                {
                    // The server ignored the range and sends the whole object: start again from zero.
                    _reporter.Verbose($"{item.FileName}: the server ignored the byte range; starting again from zero.");
                    bar.Remove(confirmed);
                    confirmed = 0;
                    before = 0;
                    if (hasher is not null)
                    {
                        hasher.Dispose();
                        hasher = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
                    }
                }

                if (confirmed > 0 && response.Content.Headers.ContentRange is { } range && (range.From != confirmed || range.Length is long total && total != size))
                {
                    throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the server answered a request for bytes {confirmed:N0}- with {range}; the object may have changed since it was listed.", item.Target);
                }

                long expected = size - confirmed;
                if (response.Content.Headers.ContentLength is long length && length != expected)
                {
                    throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the server sent {length:N0} bytes where {expected:N0} were expected (listed size {size:N0}); the object may have changed since it was listed.", item.Target);
                }

                if (confirmed == 0)
                {
                    checksum?.Dispose();
                    checksum = ChecksumOf(response);
                }

                using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
                using var file = new FileStream(item.PartialPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
                if (file.Length != confirmed)
                {
                    file.SetLength(confirmed);
                }

                file.Position = confirmed;
                // Two buffers: while one is written and hashed on the thread pool, the next is read from the network.
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
                var spare = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
                Task? writing = null;
                int writingCount = 0;
                async Task FinishWriteAsync()
                {
                    if (writing is not null)
                    {
                        var w = writing;
                        writing = null;
                        await w.ConfigureAwait(false);
                        confirmed += writingCount;
                        bar.Add(writingCount);
                    }
                }

                try
                {
                    bool end = false;
                    while (!end)
                    {
                        // Fill the buffer (network reads are small), then write, hash and count it at once.
                        int filled = 0;
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo? readFailure = null;
                        while (filled < BufferSize)
                        {
                            int n;
                            try
                            {
                                stall.CancelAfter(_options.StallTimeout);
                                n = await body.ReadAsync(buffer.AsMemory(filled, BufferSize - filled), stall.Token).ConfigureAwait(false);
                            }
                            catch (Exception ex) when ((filled > 0 || writing is not null) && !ct.IsCancellationRequested)
                            {
                                // The bytes that did arrive are good: keep them (that is progress), then fail.
                                readFailure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex);
                                break;
                            }

                            if (n == 0)
                            {
                                end = true;
                                break;
                            }

                            filled += n;
                        }

                        await FinishWriteAsync().ConfigureAwait(false);
                        if (filled > 0)
                        {
                            if (confirmed + filled > size)
                            {
                                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: more bytes arrived than the listed size {size:N0}.", item.Target);
                            }

                            var full = buffer;
                            int count = filled;
                            var md5Hasher = hasher;
                            var sum = checksum;
                            writingCount = count;
                            writing = Task.Run(() =>
                            {
                                // In slices that stay in the CPU cache between the copy to the file and the hash.
                                for (int at = 0; at < count; at += SliceSize)
                                {
                                    int len = Math.Min(SliceSize, count - at);
                                    file.Write(full, at, len);
                                    md5Hasher?.AppendData(full, at, len);
                                    sum?.Append(full.AsSpan(at, len));
                                }
                            });
                            (buffer, spare) = (spare, buffer);
                        }

                        if (readFailure is not null)
                        {
                            await FinishWriteAsync().ConfigureAwait(false);
                            readFailure.Throw();
                        }

                        if (_guard.ShouldPause())
                        {
                            await FinishWriteAsync().ConfigureAwait(false);
                            throw new LowSpacePause();
                        }
                    }

                    await FinishWriteAsync().ConfigureAwait(false);
                    file.Flush();
                }
                catch (Exception)
                {
                    // A write still running finishes first (its bytes count if it succeeded). Then the partial keeps
                    // exactly the bytes written in full and hashed: it stays a valid prefix. Bytes read but not yet
                    // written are simply fetched again.
                    try
                    {
                        await FinishWriteAsync().ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                    }

                    TryTruncate(file, confirmed);
                    throw;
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    System.Buffers.ArrayPool<byte>.Shared.Return(spare);
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
        else if (checksum is not null)
        {
            if (!checksum.Matches())
            {
                DeletePartial(item);
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{item.Target}: the {checksum.Algorithm} of the downloaded bytes is {checksum.Actual()}, not the server's {checksum.Expected}; the download was discarded.", item.Target);
            }

            method = VerificationMethod.SizeAndChecksum;
        }

        File.Move(item.PartialPath, item.FinalPath, overwrite: true);
        TryDelete(item.ETagPath);
        _reporter.Verbose($"{item.FileName}: verified ({method}{(checksum is not null && hasher is null ? " " + checksum.Algorithm : string.Empty)}) and renamed to '{item.FinalPath}'{(policy.TotalFailures > 0 ? $" after {policy.TotalFailures} interrupted attempts" : string.Empty)}.");
        return new DownloadResult(method, size, policy.TotalFailures);
        }
        finally
        {
            hasher?.Dispose();
            checksum?.Dispose();
        }
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

    private static void CheckStatus(HttpResponseMessage response, FetchItem item)
    {
        int code = (int)response.StatusCode;
        if (code is 200 or 206)
        {
            return;
        }

        string where = $"{item.Target} ({item.Entry.EndpointUrl ?? item.Entry.Region})";
        throw code switch
        {
            304 or 412 or 416 => Changed(item, (response.Headers.ETag?.Tag ?? string.Empty).Trim('"') is { Length: > 0 } e ? e : null),
            404 => new BulkDataException(BulkErrorKind.ObjectNotFound, $"{where} no longer exists: run Get-BulkManifest again.", item.Target),
            401 or 403 => new BulkDataException(BulkErrorKind.AccessDenied, $"Reading {where} was denied (HTTP {code}); it may need -Credential.", item.Target),
            408 or 429 or >= 500 => new HttpRequestException($"HTTP {code} {response.ReasonPhrase}", null, response.StatusCode),
            _ => new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Reading {where} failed: HTTP {code} {response.ReasonPhrase}.", item.Target),
        };
    }

    internal static bool IsMd5ETag(ManifestEntry entry)
        => !entry.IsMultipart && entry.ETag.Length == 32 && entry.ETag.All(Uri.IsHexDigit);

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
            if (e is IOException or HttpRequestException or SocketException or TimeoutException or OperationCanceledException or WebException)
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
