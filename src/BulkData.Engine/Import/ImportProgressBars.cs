using System.Diagnostics;
using BulkData.Engine.Import.Tables;

namespace BulkData.Engine.Import;

/// <summary>
/// The flow behind Invoke-BulkImport's bars: each table being loaded has a child bar of the overall one (its bytes
/// read of its file, received from the bucket when streamed, decoded and loaded, with rates and time left, see
/// <see cref="ImportProgress.OfTable"/>), and the overall bar's totals add every table's. Thread-safe: loads report
/// from their own threads.
/// </summary>
internal sealed class ImportProgressBars
{
    private readonly ProgressReporter _reporter;
    private readonly ProgressReporter.Bar _parent;
    private readonly Dictionary<TableJob, Table> _tables = new(ReferenceEqualityComparer.Instance);
    private long _received;
    private long _decoded;
    private int _streamed;

    public ImportProgressBars(ProgressReporter reporter, ProgressReporter.Bar parent)
    {
        _reporter = reporter;
        _parent = parent;
    }

    /// <summary>Bytes received from the bucket by every table so far, or null when no table is streamed.</summary>
    public long? Received => Volatile.Read(ref _streamed) > 0 ? Interlocked.Read(ref _received) : null;

    /// <summary>CSV bytes decoded and handed to COPY by every table so far.</summary>
    public long Decoded => Interlocked.Read(ref _decoded);

    /// <summary>A load's bytes so far (cumulative for its table): updates its child bar and the totals.</summary>
    public void Flow(TableJob job, long read, long? received, long decoded)
    {
        var t = TableOf(job);
        lock (t)
        {
            Add(t, received, decoded);
            t.Read = read;
        }

        t.Bar.Report(() => ImportProgress.OfTable(new ImportFlow(t.Read, job.Bytes, t.Received, t.Decoded), t.Clock.Elapsed));
    }

    /// <summary>A load ended: its final figures into the totals, its child bar completed.</summary>
    public void End(TableJob job, long? received, long decoded)
    {
        Table? t;
        lock (_tables)
        {
            _tables.Remove(job, out t);
        }

        if (t is null)
        {
            if (received is not null)
            {
                Interlocked.Increment(ref _streamed);
            }

            Interlocked.Add(ref _received, received ?? 0);
            Interlocked.Add(ref _decoded, decoded);
            return;
        }

        lock (t)
        {
            Add(t, received, decoded);
        }

        t.Bar.Complete();
    }

    private Table TableOf(TableJob job)
    {
        lock (_tables)
        {
            if (!_tables.TryGetValue(job, out var t))
            {
                t = new Table(_reporter.Begin($"{job.QualifiedTable} ({job.FileName})", _parent));
                _tables[job] = t;
            }

            return t;
        }
    }

    private void Add(Table t, long? received, long decoded)
    {
        if (received is long r && r > t.Received.GetValueOrDefault())
        {
            if (t.Received is null)
            {
                Interlocked.Increment(ref _streamed);
            }

            Interlocked.Add(ref _received, r - t.Received.GetValueOrDefault());
            t.Received = r;
        }

        if (decoded > t.Decoded)
        {
            Interlocked.Add(ref _decoded, decoded - t.Decoded);
            t.Decoded = decoded;
        }
    }

    private sealed class Table(ProgressReporter.Bar bar)
    {
        public ProgressReporter.Bar Bar { get; } = bar;

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public long Read;

        public long? Received;

        public long Decoded;
    }
}
