using BulkData.Engine.DumpFiles;
using BulkData.Engine.Import.Tables;
using BulkData.Engine.Manifest;
using BulkData.Engine.Storage;
using BulkData.Engine.Transfer;

namespace BulkData.Engine.Import;

/// <summary>
/// The objects of a streamed import (ManifestEntry inputs): the stores they are read from, the fetch options
/// their reads follow (retries, backoff, budget, -StallTimeout: Start-BulkFetch's), and the -KeepDownload folder.
/// </summary>
internal sealed class StreamedObjects : IDisposable
{
    private readonly StoreCache _stores;

    public StreamedObjects(FetchOptions options, string? keepFolder)
    {
        Options = options;
        KeepFolder = keepFolder is null ? null : Path.GetFullPath(keepFolder);
        _stores = new StoreCache(options);
    }

    public FetchOptions Options { get; }

    public string? KeepFolder { get; }

    /// <summary>The options of a streamed import when none are given: Start-BulkFetch's defaults.</summary>
    public static FetchOptions Defaults => new() { Destination = Path.GetTempPath() };

    private readonly List<ObjectTableBytes> _opened = new();

    public TableBytes BytesOf(ManifestEntry entry)
    {
        string? keep = KeepFolder is null ? null : FetchLayout.ResolveInside(KeepFolder, FetchLayout.FileNameOfKey(entry.Key));
        var bytes = new ObjectTableBytes(_stores.For(entry), entry, Options, keep);
        lock (_opened)
        {
            _opened.Add(bytes);
        }

        return bytes;
    }

    /// <summary>A script (schema, load script) read from the bucket into memory, verified like a table's bytes.</summary>
    public string ReadText(ManifestEntry entry, IBulkReporter reporter, CancellationToken ct)
    {
        var bytes = BytesOf(entry);
        using var stream = bytes.Open(reporter, wholeRead: true);
        using var memory = new MemoryStream(entry.Size > 0 && entry.Size < int.MaxValue ? (int)entry.Size : 0);
        stream.CopyToAsync(memory, ct).GetAwaiter().GetResult();
        return new System.Text.UTF8Encoding(false).GetString(memory.GetBuffer(), 0, (int)memory.Length).TrimStart('\uFEFF');
    }

    private FolderLock? _keepLock;

    /// <summary>Takes the -KeepDownload folder's lock (as Start-BulkFetch does), held until the plan is disposed.</summary>
    public void LockKeepFolder(bool noWait, IBulkReporter reporter, CancellationToken ct)
    {
        if (KeepFolder is not null && _keepLock is null)
        {
            _keepLock = FolderLock.AcquireAsync(KeepFolder, "Invoke-BulkImport -KeepDownload", noWait, reporter, ct).GetAwaiter().GetResult();
        }
    }

    public void Dispose()
    {
        lock (_opened)
        {
            foreach (var bytes in _opened)
            {
                bytes.DisposeUnused();
            }
        }

        _keepLock?.Dispose();
        _stores.Dispose();
    }
}

/// <summary>
/// One object of the bucket as a table's bytes: a GET streamed through <see cref="ObjectReadStream"/>. The header
/// check (<see cref="OpenHead"/>) and the load read the same GET: the check's first bytes are kept and replayed to
/// the load, so each object is requested once (a connection the server closes while the table waits for its turn is
/// resumed from the bytes already received, pinned to the ETag).
/// </summary>
internal sealed class ObjectTableBytes(IObjectStore store, ManifestEntry entry, FetchOptions options, string? keepFinalPath) : TableBytes
{
    private PrimedObject? _primed;

    public override string Name => store.Describe(entry.Key);

    public override bool IsLocal => false;

    public string? KeepFinalPath => keepFinalPath;

    public override long? ReceivedBytes(Stream opened) => PrimedObject.Unwrap(opened)?.Received;

    public override Exception? FailureOf(Stream opened) => PrimedObject.Unwrap(opened)?.Failure;

    public override Stream Open(IBulkReporter reporter, bool wholeRead)
    {
        if (wholeRead && Interlocked.Exchange(ref _primed, null) is { } primed)
        {
            // The header check's GET goes on: its first bytes again, then the rest of the object.
            return primed.TakeForLoad();
        }

        return New(reporter, wholeRead);
    }

    /// <summary>The start of the object for the header check: the GET the load goes on with (see <see cref="Open"/>).</summary>
    public override Stream OpenHead(IBulkReporter reporter)
    {
        var primed = new PrimedObject((ObjectReadStream)New(reporter, wholeRead: true));
        Interlocked.Exchange(ref _primed, primed)?.Dispose();
        return primed.Head;
    }

    /// <summary>Ends a GET opened by the header check that no load took (the import stopped before this table).</summary>
    public void DisposeUnused() => Interlocked.Exchange(ref _primed, null)?.Dispose();

    private Stream New(IBulkReporter reporter, bool wholeRead)
        => new ObjectReadStream(store, new StoredObject(entry.Key, entry.Size, entry.ETag, entry.LastModified), options, reporter, keepFinalPath: wholeRead ? keepFinalPath : null);
}

/// <summary>
/// A GET opened for its first bytes (<see cref="Head"/>: at most <see cref="HeadLimit"/> bytes, each kept) and
/// taken over by the load (<see cref="TakeForLoad"/>: the kept bytes, then the rest of the same GET). While it waits
/// the transfer is held after the head (<see cref="ObjectReadStream.HoldAfter"/>), so a waiting table holds about
/// two head's worth of memory.
/// </summary>
internal sealed class PrimedObject : IDisposable
{
    /// <summary>Compressed bytes the header check may read: more than a whole bzip2 block (900 kB of input at -9).</summary>
    public const int HeadLimit = 3 << 19;

    private readonly ObjectReadStream _inner;
    private readonly MemoryStream _head = new();
    private bool _taken;

    public PrimedObject(ObjectReadStream inner)
    {
        _inner = inner;
        inner.HoldAfter(HeadLimit);
        Head = new HeadView(this);
    }

    /// <summary>The first bytes of the object (an end after <see cref="HeadLimit"/>); disposing it leaves the GET open.</summary>
    public Stream Head { get; }

    /// <summary>Bytes the head read so far (kept for the load).</summary>
    public long HeadBytes => _head.Length;

    /// <summary>The object stream behind <paramref name="opened"/> (itself, or the load's view of a primed GET).</summary>
    public static ObjectReadStream? Unwrap(Stream opened) => opened as ObjectReadStream ?? (opened as LoadView)?.Owner._inner;

    /// <summary>The whole object for the load: the head's bytes, then the same GET from there (released to full speed).</summary>
    public Stream TakeForLoad()
    {
        _taken = true;
        _inner.Release();
        return new LoadView(this);
    }

    public void Dispose()
    {
        if (!_taken)
        {
            _inner.Dispose();
        }
    }

    private abstract class View(PrimedObject owner) : Stream
    {
        public PrimedObject Owner { get; } = owner;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => Owner._inner.Length;

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>The header check's view: reads are kept; an end at the limit; disposing it leaves the GET open.</summary>
    private sealed class HeadView(PrimedObject owner) : View(owner)
    {
        public override int Read(Span<byte> buffer)
        {
            int room = (int)Math.Min(buffer.Length, HeadLimit - Owner._head.Length);
            if (room <= 0)
            {
                return 0;
            }

            int n = Owner._inner.Read(buffer[..room]);
            Owner._head.Write(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int room = (int)Math.Min(buffer.Length, HeadLimit - Owner._head.Length);
            if (room <= 0)
            {
                return 0;
            }

            int n = await Owner._inner.ReadAsync(buffer[..room], cancellationToken).ConfigureAwait(false);
            Owner._head.Write(buffer.Span[..n]);
            return n;
        }
    }

    /// <summary>The load's view: the kept head, then the rest of the GET; disposing it ends the GET.</summary>
    private sealed class LoadView(PrimedObject owner) : View(owner)
    {
        private int _at;

        public override int Read(Span<byte> buffer)
        {
            if (Replay(buffer) is int n and > 0)
            {
                return n;
            }

            return Owner._inner.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Replay(buffer.Span) is int n and > 0)
            {
                return ValueTask.FromResult(n);
            }

            return Owner._inner.ReadAsync(buffer, cancellationToken);
        }

        private int Replay(Span<byte> buffer)
        {
            int left = (int)Owner._head.Length - _at;
            if (left <= 0 || buffer.IsEmpty)
            {
                return 0;
            }

            int n = Math.Min(left, buffer.Length);
            Owner._head.GetBuffer().AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Owner._inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
