using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using BulkData.Engine.DumpFiles;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>
/// A read-only stream over one version of an object in the store: the bytes of a GET, handed to the reader
/// (the bzip2 decoder, COPY) as they arrive. Behind it one producer runs the transfer with the fetch's own
/// <see cref="RetryLoop"/> (backoff, Retry-After, time budget) and -StallTimeout: a dropped or stalled connection
/// is reopened at the byte offset already handed over, pinned to the ETag (If-Match, the response's ETag compared
/// by the store), invisibly to the reader. The MD5 (single-part ETag) or the store's checksum is checked from the
/// streamed bytes before the reader sees the end: a mismatch, or a changed object, is an exception from
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>, so a table being loaded from it rolls back.
/// With a keep path, the same bytes are written to the fetch's partial file and renamed to their final name
/// once verified (the <see cref="PartialDownload"/> rules: one GET, two consumers).
/// </summary>
internal sealed class ObjectReadStream : Stream
{
    private const int ChunkSize = 512 * 1024;

    private readonly IObjectStore _store;
    private readonly StoredObject _version;
    private readonly string _target;
    private readonly FetchOptions _options;
    private readonly IBulkReporter _reporter;
    private readonly FetchProgress.Bar? _bar;
    private readonly PartialDownload? _keep;
    private readonly DiskGuard _guard;
    private readonly Channel<(byte[] Buffer, int Count)> _chunks = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _md5;
    private IncrementalHash? _hash;
    private ObjectChecksum? _checksum;
    private Task? _producer;
    private byte[]? _current;
    private int _currentCount;
    private int _currentAt;
    private long _handed;
    private long _read;
    private long _holdAt = long.MaxValue;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="keepFinalPath">When given, the bytes are also written there (through its partial file, renamed once verified).</param>
    public ObjectReadStream(IObjectStore store, StoredObject version, FetchOptions options, IBulkReporter reporter, FetchProgress.Bar? bar = null, string? keepFinalPath = null, DiskGuard? guard = null)
    {
        _store = store;
        _version = version;
        _target = store.Describe(version.Key);
        _options = options;
        _reporter = reporter;
        _bar = bar;
        _keep = keepFinalPath is null ? null : new PartialDownload(keepFinalPath);
        // The kept copy follows Start-BulkFetch's space rules: below -MinimumFreeSpace the transfer pauses (the reader
        // waits), for at most -LowSpaceTimeout; without a copy nothing is written, so there is nothing to guard.
        _guard = guard ?? new DiskGuard(keepFinalPath is null ? Path.GetTempPath() : Path.GetDirectoryName(keepFinalPath)!, keepFinalPath is null ? 0 : options.MinimumFreeSpace, options.LowSpaceTimeout, options.SpacePollInterval, reporter,
            "The table is rolled back; the kept copy's partial file stays in that folder (Start-BulkFetch into it resumes it, or the next import starts it again). Free some space and run again.");
        _md5 = StoredObject.IsMd5ETag(version.ETag);
        _hash = _md5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
    }

    /// <summary>Bytes received from the store and handed on (the position of a resumed GET).</summary>
    public long Received => Interlocked.Read(ref _handed);

    /// <summary>Attempts that failed and were resumed.</summary>
    public int Retries { get; private set; }

    /// <summary>How the bytes were verified, once the end was read.</summary>
    public VerificationMethod? Verification { get; private set; }

    public string Target => _target;

    /// <summary>
    /// Hands on no more than about <paramref name="bytes"/> (a chunk more at most) until <see cref="Release"/>: a
    /// stream opened early for its first bytes (the header) does not read the rest of the object into memory while
    /// it waits for its load. A connection the server closes meanwhile is resumed from the bytes handed on.
    /// </summary>
    public void HoldAfter(long bytes) => Interlocked.Exchange(ref _holdAt, bytes);

    /// <summary>Ends <see cref="HoldAfter"/>: the transfer goes on at full speed.</summary>
    public void Release()
    {
        Interlocked.Exchange(ref _holdAt, long.MaxValue);
        _released.TrySetResult();
    }

    /// <summary>The error the transfer ended with (a changed object, a failed checksum, retries spent), once a read has thrown it.</summary>
    public Exception? Failure { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _version.Size;

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _producer ??= Task.Run(() => ProduceAsync(_stop.Token));
        if (buffer.Length == 0)
        {
            return 0;
        }

        while (_current is null || _currentAt == _currentCount)
        {
            if (_current is not null)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = null;
            }

            try
            {
                if (!await _chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // Completed: normally (verified), or with the transfer's error.
                    await _chunks.Reader.Completion.ConfigureAwait(false);
                    return 0;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Failure ??= ex;
                throw;
            }

            if (_chunks.Reader.TryRead(out var chunk))
            {
                (_current, _currentCount, _currentAt) = (chunk.Buffer, chunk.Count, 0);
            }
        }

        int n = Math.Min(buffer.Length, _currentCount - _currentAt);
        _current.AsSpan(_currentAt, n).CopyTo(buffer.Span);
        _currentAt += n;
        _read += n;
        return n;
    }

    private async Task ProduceAsync(CancellationToken ct)
    {
        try
        {
            var loop = new RetryLoop(_options, _guard, _reporter, _bar, _version.Key, _target) { Streaming = true };
            if (_keep is not null)
            {
                // A streamed copy starts from zero: the bytes before the offset would not reach the reader.
                _keep.Delete();
                await _keep.WriteNoteAsync(_version.ETag, ct).ConfigureAwait(false);
            }

            await loop.RunAsync(AttemptAsync, () => Received, _version.Size, _keep?.PartialPath ?? _target, ct).ConfigureAwait(false);
            Retries = loop.Policy.TotalFailures;
            Verification = Verify();
            if (_keep is not null)
            {
                _keep.Complete(_version.Size);
                _reporter.Verbose($"{_version.Key}: kept a verified copy at '{_keep.FinalPath}'.");
            }

            _chunks.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            if (ex is BulkDataException { Kind: BulkErrorKind.IntegrityFailure } integrity)
            {
                _keep?.Delete();
                if (!ct.IsCancellationRequested && await NamingBothETagsAsync(integrity).ConfigureAwait(false) is { } changed)
                {
                    _chunks.Writer.TryComplete(changed);
                    return;
                }
            }

            _chunks.Writer.TryComplete(ex is OperationCanceledException && !ct.IsCancellationRequested
                ? new BulkDataException(BulkErrorKind.EndpointUnreachable, $"Reading {_target} failed: {ex.Message}", _target, ex)
                : ex);
        }
    }

    /// <summary>
    /// A changed object whose refusal (412) did not say the new ETag: asks the store for it, so the error names the
    /// object and both ETags. Null when the error is not about a changed object.
    /// </summary>
    private async Task<BulkDataException?> NamingBothETagsAsync(BulkDataException ex)
    {
        if (!ex.Message.Contains("changed since it was listed", StringComparison.Ordinal))
        {
            return null;
        }

        string at = $" at byte {Received:N0} of {_version.Size:N0}";
        if (ex.Message.Contains(", now ", StringComparison.Ordinal))
        {
            return new BulkDataException(ex.Kind, $"{ex.Message.TrimEnd('.')}{at}; nothing of it was kept.", _target, ex);
        }

        try
        {
            using var head = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var now = await _store.HeadAsync(_version.Key, head.Token).ConfigureAwait(false);
            return new BulkDataException(ex.Kind, $"{_target} changed while it was read{at} (ETag {_version.ETag} when listed, now {now.ETag}): run Get-BulkManifest again; nothing of it was kept.", _target, ex);
        }
        catch (Exception e) when (e is BulkDataException or IOException or HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>One GET from the bytes handed on so far; ends normally only with the whole object handed on.</summary>
    private async Task AttemptAsync(CancellationToken ct)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(_options.StallTimeout);
        long from = Received;
        FileStream? keep = null;
        try
        {
            using var read = await _store.OpenReadAsync(_version, from, wantChecksum: !_md5, stall.Token).ConfigureAwait(false);
            if (read.Offset < from)
            {
                // The store ignored the range: skip what was handed on already (the reader must not see it twice).
                _reporter.Verbose($"{_version.Key}: the server ignored the byte range; skipping {from:N0} bytes already read.");
                await SkipAsync(read.Body, from, stall, ct).ConfigureAwait(false);
            }

            if (from == 0 && !_md5)
            {
                _checksum?.Dispose();
                _checksum = read.Checksum;
            }

            if (_keep is not null)
            {
                keep = new FileStream(_keep.PartialPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.None);
                keep.SetLength(from);
                keep.Position = from;
            }

            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                int filled = 0;
                try
                {
                    while (filled < ChunkSize)
                    {
                        stall.CancelAfter(_options.StallTimeout);
                        int n;
                        try
                        {
                            n = await read.Body.ReadAsync(buffer.AsMemory(filled, ChunkSize - filled), stall.Token).ConfigureAwait(false);
                        }
                        catch (Exception) when (filled > 0 && !ct.IsCancellationRequested)
                        {
                            // The bytes that did arrive are good: hand them on (progress), then fail this attempt.
                            await HandAsync(buffer, filled, keep, ct).ConfigureAwait(false);
                            buffer = null;
                            throw;
                        }

                        if (n == 0)
                        {
                            break;
                        }

                        filled += n;
                    }

                    stall.CancelAfter(Timeout.InfiniteTimeSpan);
                    if (filled == 0)
                    {
                        break;
                    }

                    await HandAsync(buffer, filled, keep, ct).ConfigureAwait(false);
                    buffer = null;
                }
                finally
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }

            keep?.Flush(flushToDisk: true);
        }
        catch (OperationCanceledException ex) when (stall.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no byte came for {_options.StallTimeout.TotalSeconds:0.#} s from {_target} (at byte {Received:N0} of {_version.Size:N0}): the connection was cut (-StallTimeout)", ex);
        }
        finally
        {
            keep?.Dispose();
        }

        if (Received < _version.Size)
        {
            throw new IOException($"The connection closed after {Received:N0} of {_version.Size:N0} bytes.");
        }
    }

    private async Task HandAsync(byte[] buffer, int count, FileStream? keep, CancellationToken ct)
    {
        // On a throw the buffer stays the caller's (its finally returns it to the pool, once): returning it here too
        // put one array in the pool twice, so two later chunks shared it and the decoder read corrupt blocks.
        if (Received + count > _version.Size)
        {
            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{_target}: more bytes arrived than the listed size {_version.Size:N0}.", _target);
        }

        if (keep is not null && _guard.ShouldPause())
        {
            // Not handed on: the attempt ends, the loop pauses until there is room, and the next GET starts here.
            throw new LowSpacePause();
        }

        _hash?.AppendData(buffer, 0, count);
        _checksum?.Append(buffer.AsSpan(0, count));
        if (keep is not null)
        {
            await keep.WriteAsync(buffer.AsMemory(0, count), ct).ConfigureAwait(false);
        }

        if (Received >= Interlocked.Read(ref _holdAt))
        {
            await _released.Task.WaitAsync(ct).ConfigureAwait(false);
        }

        // Counted once queued: the queue is in this process, so these bytes are never read again from the store.
        await _chunks.Writer.WriteAsync((buffer, count), ct).ConfigureAwait(false);
        Interlocked.Add(ref _handed, count);
        _bar?.Add(count);
    }

    private static async Task SkipAsync(Stream body, long count, CancellationTokenSource stall, CancellationToken ct)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long left = count;
            while (left > 0)
            {
                stall.CancelAfter(Timeout.InfiniteTimeSpan);
                stall.CancelAfter(TimeSpan.FromMinutes(2));
                int n = await body.ReadAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, left)), stall.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"The connection closed while skipping to byte {count:N0}.");
                }

                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        ct.ThrowIfCancellationRequested();
    }

    /// <summary>The size, then the MD5 of a single-part ETag or the store's checksum: checked before the reader sees the end.</summary>
    private VerificationMethod Verify()
    {
        if (Received != _version.Size)
        {
            throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{_target}: {Received:N0} bytes received where the listing says {_version.Size:N0}.", _target);
        }

        if (_hash is not null)
        {
            string actual = Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();
            if (!string.Equals(actual, _version.ETag, StringComparison.OrdinalIgnoreCase))
            {
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{_target}: the MD5 of the streamed bytes is {actual}, not the ETag {_version.ETag}.", _target);
            }

            return VerificationMethod.SizeAndMD5;
        }

        if (_checksum is not null)
        {
            if (!_checksum.Matches())
            {
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{_target}: the {_checksum.Algorithm} of the streamed bytes is {_checksum.Actual()}, not the server's {_checksum.Expected}.", _target);
            }

            return VerificationMethod.SizeAndChecksum;
        }

        return VerificationMethod.Size;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Cancel();
            try
            {
                _producer?.Wait(TimeSpan.FromSeconds(30));
            }
            catch (AggregateException)
            {
            }

            while (_chunks.Reader.TryRead(out var chunk))
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }

            if (_current is not null)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = null;
            }

            _hash?.Dispose();
            _checksum?.Dispose();
            _stop.Dispose();
        }

        base.Dispose(disposing);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
