using System.Diagnostics;
using BulkData.Engine.Compression;
using BulkData.Engine.Import.Sql;
using Npgsql;

namespace BulkData.Engine.Import.Tables;

/// <summary>What loading one table did: rows and bytes of the file read, or the error it was rolled back for.</summary>
internal sealed record TableLoad(long Rows, long BytesRead, TimeSpan Duration, string? Error)
{
    /// <summary>Header columns the table lacks, dropped from every record (-ExcludeExtraColumns).</summary>
    public IReadOnlyList<string> ExcludedColumns { get; init; } = Array.Empty<string>();

    /// <summary>Values dropped: records times excluded columns.</summary>
    public long DroppedValues { get; init; }

    /// <summary>The dialect the table was read in, and why (stated, sniffed, prior).</summary>
    public CopyDialect? Dialect { get; init; }

    public string? DialectReason { get; init; }

    /// <summary>Set when the bytes showed another dialect (the table was rolled back): the dialect they point to.</summary>
    public CopyDialect? OtherDialect { get; init; }

    /// <summary>Bytes after decoding (the CSV handed to COPY before any column is dropped).</summary>
    public long DecodedBytes { get; init; }

    /// <summary>Bytes received over the network for a table streamed from the bucket (resumed reads included once), else null.</summary>
    public long? ReceivedBytes { get; init; }
}

/// <summary>
/// Loads one table from one file: the whole of a table's load transaction (TRUNCATE, or DELETE where a foreign key
/// forbids it; COPY of the header's columns streamed from the file, .bz2 decoded on the way; the row count checked;
/// the journal row). It can load into another schema than the job's (a staging schema of the same tables).
/// </summary>
internal sealed partial class TableLoader
{
    private const int ChunkSize = 1 << 20;

    private readonly int _decoderThreads;
    private readonly IBulkReporter _reporter;
    private readonly Action<string, long> _progress;

    /// <summary>Header columns the table lacks are dropped from each record while streaming, instead of failing the table.</summary>
    public bool ExcludeExtraColumns { get; init; }

    /// <summary>Gets, from the loading thread as each chunk goes to COPY, the job and its bytes so far: read, received over the network (null for a local file), decoded.</summary>
    public Action<TableJob, long, long?, long>? Flow { get; init; }

    /// <summary>Records the loaded table inside its transaction (default: the import journal's row; -Online: the staging generation's).</summary>
    public Func<NpgsqlTransaction, TableJob, string, long, CancellationToken, Task> Record { get; init; } = ImportJournal.RecordTableAsync;

    /// <param name="progress">Gets each table name and the count of file bytes just read, from the loading thread.</param>
    public TableLoader(int decoderThreads, IBulkReporter reporter, Action<string, long> progress)
    {
        _decoderThreads = decoderThreads;
        _reporter = reporter;
        _progress = progress;
    }

    /// <summary>
    /// The job to load again when <paramref name="load"/> was rolled back because its bytes point to another dialect
    /// than the one chosen from the bytes or the date (a stated -Dialect is never overridden); else null.
    /// </summary>
    public static TableJob? ReloadInOtherDialect(TableJob job, TableLoad load)
        => load.OtherDialect is { } other && !job.DialectReason.StartsWith(DialectSniffer.Stated, StringComparison.Ordinal) && other != load.Dialect
            ? job with { Dialect = other, DialectReason = $"{DialectSniffer.Sniffed} (reloaded: {load.Dialect?.Name} misread the bytes)" }
            : null;

    /// <summary>
    /// Loads <paramref name="job"/>'s file into its table, or into the table of the same name in
    /// <paramref name="intoSchema"/>, in one transaction on <paramref name="c"/> (open, the loader's alone):
    /// empties it, streams the file (decoded when .bz2) into COPY, checks COPY's row count against the CSV
    /// records read, records the journal row and commits. A failure rolls everything back and is returned, with
    /// the file, table and position, in <see cref="TableLoad.Error"/>; cancellation is thrown.
    /// </summary>
    public async Task<TableLoad> LoadAsync(NpgsqlConnection c, TableJob job, bool replica, string? intoSchema, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        long reported = 0;
        var counting = (CountingStream?)null;
        var bytes = TableBytes.Of(job);
        Stream? opened = null;
        string schema = intoSchema ?? job.Schema;
        string table = new QualifiedName(schema, job.Table).Sql;
        string where = $"file {job.FilePath}, table {job.QualifiedTable}";
        DialectMismatch? mismatch = null;
        void Check(CsvRecordCounter counter)
        {
            if (counter.Finding is not null)
            {
                mismatch = Mismatch(counter, job, where);
                throw mismatch;
            }
        }

        try
        {
            if (replica)
            {
                await ExecAsync(c, "SET session_replication_role = replica", ct).ConfigureAwait(false);
            }

            var tableColumns = await TableColumnsAsync(c, job, table, ct).ConfigureAwait(false);
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            bool truncated = await TruncateAsync(c, tx, table, ct).ConfigureAwait(false);
            // COPY FREEZE where PostgreSQL allows it: a plain table emptied by TRUNCATE in this (sub)transaction.
            bool freeze = truncated && await IsPlainTableAsync(c, tx, table, ct).ConfigureAwait(false);
            long insertedBefore = await InsertedRowsAsync(c, tx, table, ct).ConfigureAwait(false);

            // The one place a table's bytes are opened (OpenBytes): a local file, or an object streamed from the bucket.
            long decoded = 0;
            await using var input = OpenBytes(job);
            opened = input.File;
            counting = input.Counting;
            Stream source = input.Source;

            var counter = new CsvRecordCounter(job.Dialect);
            var pending = new List<byte[]>();
            var buffer = new byte[ChunkSize];
            int n;
            bool eof = false;

            // Read until the header is complete (it names the columns COPY gets).
            while (job.Dialect.Header && !counter.HeaderComplete)
            {
                n = await ReadAsync(source, buffer, where, counting, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    eof = true;
                    break;
                }

                counter.Feed(buffer.AsSpan(0, n));
                pending.Add(buffer.AsSpan(0, n).ToArray());
            }

            if (job.DialectReason.StartsWith(DialectSniffer.Prior, StringComparison.Ordinal) && pending.Count > 0)
            {
                // Nothing states the dialect: the first blocks choose it, the dump's date when they cannot tell.
                var (sniffed, why) = DialectSniffer.Sniff(pending.SelectMany(b => b).ToArray(), job.Dialect);
                if (why == DialectSniffer.Sniffed)
                {
                    job = job with { Dialect = sniffed, DialectReason = DialectSniffer.Sniffed };
                    counter = new CsvRecordCounter(job.Dialect);
                    foreach (var chunk in pending)
                    {
                        counter.Feed(chunk);
                    }
                }
            }

            var header = counter.HeaderColumns(eof);
            var excluded = ExcludeExtraColumns && header is not null ? header.Where(h => !tableColumns.Contains(h, StringComparer.Ordinal)).ToList() : new List<string>();
            CsvColumnFilter? filter = null;
            if (excluded.Count > 0)
            {
                if (job.ScriptColumns is not null && !job.ScriptColumns.SequenceEqual(header!, StringComparer.Ordinal))
                {
                    throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the header ({string.Join(", ", header!)}) differs from the load script's column list ({string.Join(", ", job.ScriptColumns)}).", job.FilePath);
                }

                filter = new CsvColumnFilter(job.Dialect, header!.Select(h => excluded.Contains(h, StringComparer.Ordinal)).ToList());
                header = header!.Where(h => !excluded.Contains(h, StringComparer.Ordinal)).ToList();
                _reporter.Verbose($"{job.QualifiedTable}: column(s) {string.Join(", ", excluded)} of {job.FileName} are not in the table: dropped from every record (-ExcludeExtraColumns).");
            }

            IReadOnlyList<string> columns = ResolveColumns(job with { ScriptColumns = filter is null ? job.ScriptColumns : null }, header, tableColumns, where);
            var filtered = new List<byte>(filter is null ? 0 : ChunkSize + 4096);
            async Task WriteAsync(Stream raw, ReadOnlyMemory<byte> chunk)
            {
                if (filter is null)
                {
                    await raw.WriteAsync(chunk, ct).ConfigureAwait(false);
                    return;
                }

                filtered.Clear();
                filter.Filter(chunk.Span, filtered);
                await raw.WriteAsync(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(filtered).ToArray(), ct).ConfigureAwait(false);
            }

            string copy = $"COPY {table} ({string.Join(", ", columns.Select(QualifiedName.QuoteIdentifier))}) FROM STDIN WITH ({job.Dialect.ToCopyOptions()}{(freeze ? ", FREEZE" : "")})";
            _reporter.Verbose($"{job.QualifiedTable}: {copy} <- {job.FileName}");
            long records;
            bool inQuotes;
            long quoteLine;
            // A text COPY (Npgsql allows raw streams for binary COPY only): the bytes go to the writer's base
            // stream untouched, so nothing is decoded or re-encoded here and PostgreSQL checks the encoding.
            await using (var writer = await c.BeginTextImportAsync(copy, ct).ConfigureAwait(false))
            {
                var raw = ((StreamWriter)writer).BaseStream;
                try
                {
                    foreach (var chunk in pending)
                    {
                        await WriteAsync(raw, chunk).ConfigureAwait(false);
                        decoded += chunk.Length;
                    }

                    Check(counter);
                    while (!eof && (n = await ReadAsync(source, buffer, where, counting, ct).ConfigureAwait(false)) > 0)
                    {
                        counter.Feed(buffer.AsSpan(0, n));
                        Check(counter);
                        await WriteAsync(raw, buffer.AsMemory(0, n)).ConfigureAwait(false);
                        decoded += n;
                        long now = counting.BytesRead;
                        _progress(job.QualifiedTable, now - reported);
                        reported = now;
                        Flow?.Invoke(job, now, bytes.ReceivedBytes(opened), decoded);
                    }

                    // What only the whole file shows, before COPY ends (the table is still rolled back on a finding).
                    counter.Complete();
                    Check(counter);
                }
                catch (Exception first) when (!ct.IsCancellationRequested)
                {
                    // A write fails once the server has ended the COPY with an error ("The COPY operation has already
                    // ended"): the server's own error is what cancelling reads back, and it names the cause and line.
                    Exception? server = null;
                    try
                    {
                        await ((NpgsqlCopyTextWriter)writer).CancelAsync().ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        server = e;
                    }

                    if (FindPostgres(first) is null && FindPostgres(server) is { } pg)
                    {
                        throw pg;
                    }

                    // The COPY is cancelled: disposing the writer now flushes into an ended COPY and throws ("The COPY
                    // operation has already ended"), which would replace the cause on the way out of the using.
                    try
                    {
                        await writer.DisposeAsync().ConfigureAwait(false);
                    }
                    catch (ObjectDisposedException)
                    {
                    }

                    throw;
                }

                records = counter.Records;
                inQuotes = counter.InQuotes;
                quoteLine = counter.Line;
            }

            // Only now (PostgreSQL's own "unterminated CSV quoted field", with its line, comes first when it sees it).
            if (inQuotes)
            {
                throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the file ends inside a quoted value (line {quoteLine}): truncated or not in the {job.Dialect.Name} dialect.", job.FilePath);
            }

            long rows = await InsertedRowsAsync(c, tx, table, ct).ConfigureAwait(false) - insertedBefore;
            if (rows != records)
            {
                throw new BulkDataException(BulkErrorKind.IntegrityFailure, $"{where}: COPY loaded {rows} rows but the file holds {records} CSV records: rolled back.", job.FilePath);
            }

            await Record(tx, job, counting.HashHex(), rows, ct).ConfigureAwait(false);

            await tx.CommitAsync(ct).ConfigureAwait(false);
            long? received = bytes.ReceivedBytes(opened);
            _reporter.Verbose($"{job.QualifiedTable}: {rows} rows from {job.FileName} in {watch.Elapsed.TotalSeconds:0.0} s ({(received is long r ? $"{r:N0} bytes received from the bucket, " : "")}{counting.BytesRead:N0} read, {decoded:N0} decoded and loaded).");
            return new TableLoad(rows, counting.BytesRead, watch.Elapsed, null)
            {
                ExcludedColumns = excluded, DroppedValues = rows * excluded.Count, Dialect = job.Dialect, DialectReason = job.DialectReason,
                DecodedBytes = decoded, ReceivedBytes = received,
            };
        }
        catch (Exception) when (!ct.IsCancellationRequested && mismatch is not null)
        {
            // A finding of the dialect check (ending the COPY early may surface as another exception on the way out).
            return new TableLoad(0, counting?.BytesRead ?? 0, watch.Elapsed, mismatch.Message) { Dialect = job.Dialect, DialectReason = job.DialectReason, OtherDialect = mismatch.Other };
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OperationCanceledException)
        {
            // The source's own failure (an object that changed, a failed checksum) is the cause, whatever COPY said after it.
            string message = opened is not null && bytes.FailureOf(opened) is { } cause ? $"{where}: {cause.Message}" : Describe(e, where, counting);
            return new TableLoad(0, counting?.BytesRead ?? 0, watch.Elapsed, message) { Dialect = job.Dialect, DialectReason = job.DialectReason };
        }
        finally
        {
            if (counting is not null)
            {
                _progress(job.QualifiedTable, Math.Max(0, job.Bytes - reported));
            }
        }
    }

    /// <summary>The table's bytes as the load reads them (<see cref="TableBytes"/>: a file or an object), counted (hash, progress) and decoded when .bz2. The one place a load opens its input.</summary>
    private OpenedBytes OpenBytes(TableJob job)
    {
        var file = TableBytes.Of(job).Open(_reporter, wholeRead: true);
        var counting = new CountingStream(file);
        Stream source = job.IsBzip2
            ? new Bzip2DecoderStream(counting, new Bzip2DecoderOptions { Threads = _decoderThreads, SourceName = job.FilePath }, leaveOpen: true)
            : counting;
        return new OpenedBytes(file, counting, source);
    }

    private sealed class OpenedBytes(Stream file, CountingStream counting, Stream source) : IAsyncDisposable
    {
        /// <summary>The stream as opened (a file, or an object of the bucket), before counting and decoding.</summary>
        public Stream File { get; } = file;

        public CountingStream Counting { get; } = counting;

        public Stream Source { get; } = source;

        public async ValueTask DisposeAsync()
        {
            if (Source != Counting)
            {
                await Source.DisposeAsync().ConfigureAwait(false);
            }

            await File.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>PostgreSQL's own error inside <paramref name="e"/> (itself, an inner exception, or one of an aggregate's).</summary>
    private static PostgresException? FindPostgres(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg)
            {
                return pg;
            }

            if (e is AggregateException agg)
            {
                return agg.InnerExceptions.Select(FindPostgres).FirstOrDefault(p => p is not null);
            }
        }

        return null;
    }

    /// <summary>True when the connection to the server broke (not an error the server reported).</summary>
    private static bool IsConnectionLost(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is NpgsqlException { IsTransient: true } or System.Net.Sockets.SocketException or EndOfStreamException
                || (x is NpgsqlException && x.InnerException is IOException or System.Net.Sockets.SocketException))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class DialectMismatch(string message, CopyDialect? other) : Exception(message)
    {
        public CopyDialect? Other { get; } = other;
    }

    private static DialectMismatch Mismatch(CsvRecordCounter counter, TableJob job, string where)
    {
        var other = counter.FindingDialect;
        string use = other is null ? "" : $"; use -Dialect {other.Name}";
        return new DialectMismatch($"{where}: the bytes are not in the {job.Dialect.Name} dialect ({job.DialectReason}): {counter.Finding}{use}; rolled back, nothing loaded.", other);
    }

    private static string Describe(Exception e, string where, CountingStream? counting)
    {
        if (FindPostgres(e) is { } pg)
        {
            // PostgreSQL's context names the line of the file ("COPY search_docket, line 5, column x: ...").
            // The line of the context that names the COPY's line (a quoted value in it may hold newlines of its own).
            var lines = string.IsNullOrEmpty(pg.Where) ? Array.Empty<string>() : pg.Where.Split('\n');
            string copyLine = lines.LastOrDefault(l => l.StartsWith("COPY ", StringComparison.Ordinal)) ?? lines.LastOrDefault() ?? string.Empty;
            string context = copyLine.Length == 0 ? "" : $" ({(copyLine.Length > 300 ? copyLine[..300] + "..." : copyLine)})";
            return $"{where}: {pg.MessageText}{context} [SQLSTATE {pg.SqlState}]";
        }

        if (e is BulkDataException b)
        {
            return b.Message.StartsWith("file ", StringComparison.Ordinal) ? b.Message : $"{where}: {b.Message}";
        }

        string at = counting is null ? "" : $" (after {counting.BytesRead} bytes of the file)";
        if (IsConnectionLost(e))
        {
            // The server rolls back a transaction whose session is gone: nothing of this table was kept.
            return $"{where}: the connection to the PostgreSQL server was lost{at}; the table was rolled back ({Innermost(e).Message}).";
        }

        return $"{where}: {e.Message}{at}";
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    private static async Task<int> ReadAsync(Stream source, byte[] buffer, string where, CountingStream counting, CancellationToken ct)
    {
        try
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = await source.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                total += n;
                if (total >= buffer.Length / 2)
                {
                    break;
                }
            }

            return total;
        }
        catch (Exception e) when (e is InvalidDataException or BulkDataException && !ct.IsCancellationRequested)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: cannot decompress near byte {counting.BytesRead} of the compressed file: {e.Message}", where, e);
        }
    }

    private static IReadOnlyList<string> ResolveColumns(TableJob job, IReadOnlyList<string>? header, IReadOnlyList<string> tableColumns, string where)
    {
        if (job.Dialect.Header && header is null)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the file is empty: it has no header row.", job.FilePath);
        }

        var columns = header ?? job.ScriptColumns ?? tableColumns;
        if (job.ScriptColumns is not null && header is not null && !job.ScriptColumns.SequenceEqual(header, StringComparer.Ordinal))
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the header ({string.Join(", ", header)}) differs from the load script's column list ({string.Join(", ", job.ScriptColumns)}).", job.FilePath);
        }

        var set = new HashSet<string>(tableColumns, StringComparer.Ordinal);
        var missing = columns.Where(col => !set.Contains(col)).ToList();
        if (missing.Count > 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"{where}: the header names column(s) {string.Join(", ", missing)} that table {job.QualifiedTable} does not have; nothing was loaded.", job.FilePath);
        }

        return columns;
    }

    private static async Task<List<string>> TableColumnsAsync(NpgsqlConnection c, TableJob job, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum", c);
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        var list = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(r.GetString(0));
        }

        if (list.Count == 0)
        {
            throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"file {job.FilePath}, table {job.QualifiedTable}: the table does not exist in the target database (no schema script created it).", job.QualifiedTable);
        }

        return list;
    }

    /// <summary>Empties the table: TRUNCATE (true), or DELETE where a foreign key of another table forbids it (false).</summary>
    /// <remarks>
    /// The TRUNCATE runs in the savepoint <c>bulkdata_truncate</c>, which is kept: the COPY that follows is in the
    /// same subtransaction, as COPY ... FREEZE requires.
    /// </remarks>
    private static async Task<bool> TruncateAsync(NpgsqlConnection c, NpgsqlTransaction tx, string table, CancellationToken ct)
    {
        await tx.SaveAsync("bulkdata_truncate", ct).ConfigureAwait(false);
        try
        {
            await ExecAsync(c, $"TRUNCATE {table}", ct, tx).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.FeatureNotSupported)
        {
            // Referenced by a foreign key of another table: empty it row by row instead.
            await tx.RollbackAsync("bulkdata_truncate", ct).ConfigureAwait(false);
            await ExecAsync(c, $"DELETE FROM {table}", ct, tx).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>True for an ordinary table (COPY FREEZE refuses partitioned and foreign tables).</summary>
    private static async Task<bool> IsPlainTableAsync(NpgsqlConnection c, NpgsqlTransaction tx, string table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT relkind = 'r' FROM pg_class WHERE oid = to_regclass($1)", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
    }

    private static async Task<long> InsertedRowsAsync(NpgsqlConnection c, NpgsqlTransaction tx, string table, CancellationToken ct)
    {
        // The rows this transaction inserted into the table: COPY's own count, without scanning the table. A partitioned
        // table's rows are counted in its partitions (the parent has no storage and counts 0), so the whole tree is summed.
        await using var cmd = new NpgsqlCommand("SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_xact_user_tables WHERE relid = to_regclass($1) OR relid IN (SELECT relid FROM pg_partition_tree(to_regclass($1)))", c, tx);
        cmd.Parameters.Add(new NpgsqlParameter { Value = table });
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) ?? 0L);
    }

    private static async Task ExecAsync(NpgsqlConnection c, string sql, CancellationToken ct, NpgsqlTransaction? tx = null)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
