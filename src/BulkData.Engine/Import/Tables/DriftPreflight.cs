using BulkData.Engine.Compression;
using Npgsql;

namespace BulkData.Engine.Import.Tables;

/// <summary>What one file's header says against its table, before anything is loaded.</summary>
internal sealed record TableDrift(TableJob Job, bool TableMissing, IReadOnlyList<string> Extra, IReadOnlyList<string> MissingRequired)
{
    public bool IsProblem(bool excludeExtraColumns) => TableMissing || MissingRequired.Count > 0 || (!excludeExtraColumns && Extra.Count > 0);

    public string Describe(bool excludeExtraColumns)
    {
        if (TableMissing)
        {
            return $"{Job.QualifiedTable} ({Job.FileName}): the table does not exist in the target database";
        }

        var parts = new List<string>();
        if (Extra.Count > 0 && !excludeExtraColumns)
        {
            parts.Add($"column(s) the table lacks: {string.Join(", ", Extra)}");
        }

        if (MissingRequired.Count > 0)
        {
            parts.Add($"NOT NULL column(s) without a default the file lacks: {string.Join(", ", MissingRequired)}");
        }

        return $"{Job.QualifiedTable} ({Job.FileName}): {string.Join("; ", parts)}";
    }
}

/// <summary>
/// Column drift found before any table is emptied: reads the CSV header of every file (the first block of a
/// .bz2, decoded on one thread) and compares it with its table: columns the table lacks, NOT NULL columns
/// without a default (nor identity, nor generated) that the file lacks, the table missing. A file with no header
/// (a stub, an empty, binary or unreadable file) is left to the load, which fails that table alone with its reason.
/// The headers can be read ahead (<see cref="StartReading"/>: while the schema's pre-data runs, a core each), since
/// reading them needs no table.
/// </summary>
internal static class DriftPreflight
{
    /// <summary>Decoded bytes read at most for one header: a header longer than this is left to the load.</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <param name="reporter">Gets what a streamed object's read reports (retries): the load goes on with the same read.</param>
    public static async Task<IReadOnlyList<TableDrift>> CheckAsync(NpgsqlConnection c, IReadOnlyList<TableJob> jobs, CancellationToken ct, IBulkReporter? reporter = null)
    {
        await using var headers = StartReading(jobs, reporter, ct);
        return await CheckAsync(c, jobs, headers, ct).ConfigureAwait(false);
    }

    /// <summary>Starts reading the headers of <paramref name="jobs"/> (those with one), at most one per core at once; dispose the result to stop and wait for what is still reading.</summary>
    public static HeaderReads StartReading(IReadOnlyList<TableJob> jobs, IBulkReporter? reporter, CancellationToken ct) => new(jobs, reporter, ct);

    /// <summary>Compares each job's header, from <paramref name="headers"/> (started on these jobs), with its table on <paramref name="c"/>.</summary>
    public static async Task<IReadOnlyList<TableDrift>> CheckAsync(NpgsqlConnection c, IReadOnlyList<TableJob> jobs, HeaderReads headers, CancellationToken ct)
    {
        var list = new List<TableDrift>();
        foreach (var job in jobs)
        {
            ct.ThrowIfCancellationRequested();
            if (!job.Dialect.Header)
            {
                continue;
            }

            var header = await headers.ForAsync(job, ct).ConfigureAwait(false);
            if (header is null)
            {
                continue;
            }

            var (columns, required) = await ColumnsAsync(c, job, ct).ConfigureAwait(false);
            if (columns.Count == 0)
            {
                list.Add(new TableDrift(job, true, Array.Empty<string>(), Array.Empty<string>()));
                continue;
            }

            var set = new HashSet<string>(columns, StringComparer.Ordinal);
            var inFile = new HashSet<string>(header, StringComparer.Ordinal);
            list.Add(new TableDrift(job, false, header.Where(h => !set.Contains(h)).ToList(), required.Where(r => !inFile.Contains(r)).ToList()));
        }

        return list;
    }

    /// <summary>The header's columns, or null when the file has none to read here (stub, empty, corrupt, too long).</summary>
    public static async Task<IReadOnlyList<string>?> ReadHeaderAsync(TableJob job, CancellationToken ct, IBulkReporter? reporter = null)
    {
        try
        {
            // An object of the bucket: the first bytes of the GET its load goes on with (no second request).
            await using var file = TableBytes.Of(job).OpenHead(reporter ?? NullReporter.Instance);
            await using Stream source = job.IsBzip2
                ? new Bzip2DecoderStream(file, new Bzip2DecoderOptions { Threads = 1, SourceName = job.FilePath }, leaveOpen: true)
                : file;
            var counter = new CsvRecordCounter(job.Dialect);
            var buffer = new byte[1 << 16];
            long total = 0;
            while (!counter.HeaderComplete && total < MaxHeaderBytes)
            {
                int n = await source.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    return counter.HeaderColumns(atEnd: true);
                }

                if (total == 0 && buffer.AsSpan(0, n).StartsWith("PGCOPY\n"u8))
                {
                    // A binary COPY file (the 2022-07-31 export) has no CSV header: its load refuses it with the reason.
                    return null;
                }

                counter.Feed(buffer.AsSpan(0, n));
                total += n;
            }

            return counter.HeaderColumns();
        }
        catch (Exception e) when (e is InvalidDataException or BulkDataException or IOException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The header reads of a set of jobs, started at once and run at most one per core.</summary>
    internal sealed class HeaderReads : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts;
        private readonly Dictionary<TableJob, Task<IReadOnlyList<string>?>> _reads = new(ReferenceEqualityComparer.Instance);
        private readonly IBulkReporter? _reporter;

        public HeaderReads(IReadOnlyList<TableJob> jobs, IBulkReporter? reporter, CancellationToken ct)
        {
            _reporter = reporter;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var slots = new SemaphoreSlim(Math.Max(1, Environment.ProcessorCount));
            foreach (var job in jobs.Where(j => j.Dialect.Header))
            {
                var token = _cts.Token;
                _reads[job] = Task.Run(async () =>
                {
                    await slots.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        return await ReadHeaderAsync(job, token, reporter).ConfigureAwait(false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                });
            }
        }

        /// <summary>The header of <paramref name="job"/> (read now if it was not among the jobs started).</summary>
        public Task<IReadOnlyList<string>?> ForAsync(TableJob job, CancellationToken ct)
            => _reads.TryGetValue(job, out var read) ? read.WaitAsync(ct) : ReadHeaderAsync(job, ct, _reporter);

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            foreach (var read in _reads.Values)
            {
                try
                {
                    await read.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Stopped, or failed for a run that is ending anyway: the caller has what it awaited.
                }
            }

            _cts.Dispose();
        }
    }

    private static async Task<(List<string> Columns, List<string> Required)> ColumnsAsync(NpgsqlConnection c, TableJob job, CancellationToken ct)
    {
        const string sql = """
            SELECT attname, attnotnull AND NOT atthasdef AND attidentity = '' AND attgenerated = ''
            FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """;
        await using var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = new Sql.QualifiedName(job.Schema, job.Table).Sql });
        var columns = new List<string>();
        var required = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            columns.Add(r.GetString(0));
            if (r.GetBoolean(1))
            {
                required.Add(r.GetString(0));
            }
        }

        return (columns, required);
    }
}
