using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using BulkData.Engine.Storage;

namespace BulkData.Engine.Transfer;

/// <summary>
/// Writes an object's body into its partial file and hashes it on the way: two buffers, so that while one is written
/// and hashed on the thread pool the next is read from the network, in slices that stay in the CPU cache between the
/// copy to the file and the hash. <see cref="Confirmed"/> counts the bytes written in full and hashed: after any
/// failure the file is cut back to exactly those, so the partial stays a valid prefix of the object.
/// </summary>
internal sealed class BodyWriter : IDisposable
{
    private const int BufferSize = 512 * 1024;
    private const int SliceSize = 64 * 1024;

    private readonly long _size;
    private readonly string _target;
    private IncrementalHash? _md5;

    /// <param name="md5">Hash the body with MD5 (the object's ETag is its MD5).</param>
    public BodyWriter(long size, string target, bool md5)
    {
        _size = size;
        _target = target;
        _md5 = md5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
    }

    /// <summary>Bytes of the object on disk and hashed.</summary>
    public long Confirmed { get; private set; }

    /// <summary>The store's own checksum of the body, computed on the way (whole-object reads only).</summary>
    public ObjectChecksum? Checksum { get; private set; }

    /// <summary>Hashes the <paramref name="length"/> bytes already in <paramref name="path"/> (a resumed partial).</summary>
    public async Task HashPrefixAsync(string path, long length, CancellationToken ct)
    {
        Confirmed = length;
        if (_md5 is null || length == 0)
        {
            return;
        }

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

            _md5.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    /// <summary>Starts again from byte zero (the store sent the whole object where a range was asked for).</summary>
    public void Restart()
    {
        Confirmed = 0;
        if (_md5 is not null)
        {
            _md5.Dispose();
            _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        }
    }

    /// <summary>Takes the store's checksum of a whole-object read (replacing any earlier one).</summary>
    public void UseChecksum(ObjectChecksum? checksum)
    {
        Checksum?.Dispose();
        Checksum = checksum;
    }

    /// <summary>
    /// Copies <paramref name="body"/> into <paramref name="file"/> from <see cref="Confirmed"/> to its end.
    /// <paramref name="readTimeout"/> is re-armed before every read; <paramref name="progress"/> gets each written count;
    /// <paramref name="shouldPause"/> is asked after each buffer and ends the copy with <see cref="LowSpacePause"/>.
    /// </summary>
    public async Task CopyAsync(Stream body, FileStream file, Action rearm, CancellationToken readToken, CancellationToken ct, Action<long> progress, Func<bool> shouldPause)
    {
        if (file.Length != Confirmed)
        {
            file.SetLength(Confirmed);
        }

        file.Position = Confirmed;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var spare = ArrayPool<byte>.Shared.Rent(BufferSize);
        Task? writing = null;
        int writingCount = 0;
        async Task FinishWriteAsync()
        {
            if (writing is not null)
            {
                var w = writing;
                writing = null;
                await w.ConfigureAwait(false);
                Confirmed += writingCount;
                progress(writingCount);
            }
        }

        try
        {
            bool end = false;
            while (!end)
            {
                // Fill the buffer (network reads are small), then write, hash and count it at once.
                int filled = 0;
                ExceptionDispatchInfo? readFailure = null;
                while (filled < BufferSize)
                {
                    int n;
                    try
                    {
                        rearm();
                        n = await body.ReadAsync(buffer.AsMemory(filled, BufferSize - filled), readToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when ((filled > 0 || writing is not null) && !ct.IsCancellationRequested)
                    {
                        // The bytes that did arrive are good: keep them (that is progress), then fail.
                        readFailure = ExceptionDispatchInfo.Capture(ex);
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
                    if (Confirmed + filled > _size)
                    {
                        throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{_target}: more bytes arrived than the listed size {_size:N0}.", _target);
                    }

                    var full = buffer;
                    int count = filled;
                    var md5 = _md5;
                    var sum = Checksum;
                    writingCount = count;
                    writing = Task.Run(() =>
                    {
                        for (int at = 0; at < count; at += SliceSize)
                        {
                            int len = Math.Min(SliceSize, count - at);
                            file.Write(full, at, len);
                            md5?.AppendData(full, at, len);
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

                if (shouldPause())
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
            // exactly the bytes written in full and hashed. Bytes read but not yet written are fetched again.
            try
            {
                await FinishWriteAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
            }

            TryTruncate(file, Confirmed);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(spare);
        }
    }

    /// <summary>The MD5 of the whole body as lowercase hex, or null when it was not hashed.</summary>
    public string? Md5Hex() => _md5 is null ? null : Convert.ToHexString(_md5.GetHashAndReset()).ToLowerInvariant();

    public void Dispose()
    {
        _md5?.Dispose();
        Checksum?.Dispose();
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
}

/// <summary>A copy stopped because the disk is low: the caller waits for room and resumes (not a failed attempt).</summary>
internal sealed class LowSpacePause : Exception
{
}
