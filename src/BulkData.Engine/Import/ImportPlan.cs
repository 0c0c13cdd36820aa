using BulkData.Engine.DumpFiles;
using BulkData.Engine.Import.Sql;
using BulkData.Engine.Import.Tables;
using BulkData.Engine.Manifest;
using System.Threading.Channels;

namespace BulkData.Engine.Import;

/// <summary>What an import will do: the database, the schema script, the tables and the files that failed to plan.</summary>
public sealed class ImportPlan : IDisposable
{
    public required string Database { get; init; }

    internal SchemaScript? Schema { get; init; }

    public string? SchemaPath { get; init; }

    public string? LoadScriptPath { get; init; }

    internal IReadOnlyList<TableJob> Jobs { get; init; } = Array.Empty<TableJob>();

    /// <summary>The tables the import will load.</summary>
    public int TableCount => Jobs.Count;

    /// <summary>Whether a schema script is part of the import.</summary>
    public bool HasSchema => Schema is not null;

    /// <summary>Inputs that could not be planned (no table known for them): reported as Failed.</summary>
    internal IReadOnlyList<ImportResult> Unplanned { get; init; } = Array.Empty<ImportResult>();

    /// <summary>The objects streamed from the bucket (ManifestEntry inputs), or null when every input is a local file.</summary>
    internal StreamedObjects? Streamed { get; init; }

    /// <summary>True when every table is streamed from the bucket: the import needs no local disk space.</summary>
    public bool NeedsNoLocalSpace => Streamed is not null && Jobs.All(j => j.Input is { IsLocal: false }) && Streamed.KeepFolder is null;

    /// <summary>The folder streamed objects are also written to (-KeepDownload), or null.</summary>
    public string? KeepDownload => Streamed?.KeepFolder;

    /// <summary>Bytes of the schema script (its file, or its object).</summary>
    public long SchemaBytes { get; init; }

    public void Dispose() => Streamed?.Dispose();

    // Data files that arrive while the import runs (Invoke-BulkImport fed by Start-BulkFetch): the one seam by which
    // table jobs come over time. BulkImporter forwards them into its schedule beside the jobs planned up front.
    private Channel<TableJob>? Arrivals { get; init; }

    private ImportOptions? Options { get; init; }

    private IReadOnlyDictionary<string, LoadScriptEntry> ScriptEntries { get; init; } = new Dictionary<string, LoadScriptEntry>();

    /// <summary>Table jobs that arrive while the import runs; null for a plan whose inputs were all known up front.</summary>
    internal ChannelReader<TableJob>? Arriving => Arrivals?.Reader;

    /// <summary>
    /// The tables whose files may still arrive: while arrivals are open, every table of the schema (the schedule
    /// holds back their post-data until their data is in, or until no more files can come).
    /// </summary>
    internal IReadOnlyList<string> ExpectedArrivals => Arrivals is null ? Array.Empty<string>() : Schema?.Tables ?? (IReadOnlyList<string>)Array.Empty<string>();

    /// <summary>
    /// A data file that arrived while the import runs: planned like the others (table, dialect, load script columns)
    /// and queued for loading. Returns the failed result of a file that cannot be planned (no table known, or a
    /// schema or load script that came after the import began), else null.
    /// </summary>
    public ImportResult? Arrive(ImportInput input)
    {
        if (Arrivals is null)
        {
            throw new InvalidOperationException("This plan takes no arrivals (use BuildArriving).");
        }

        string fileName = System.IO.Path.GetFileName(input.Path);
        var parsed = DumpFileName.TryParse(fileName);
        var kind = KindOf(input);
        if (kind != EntryKind.Data)
        {
            return kind is EntryKind.Schema or EntryKind.LoadScript
                ? new ImportResult
                {
                    Table = "", Dataset = input.Dataset, File = input.Path, Status = ImportStatus.Failed, Database = Database,
                    Error = $"{input.Path}: arrived after the import began with {(SchemaPath is null ? "no schema" : System.IO.Path.GetFileName(SchemaPath))}; not applied. Fetch the schema and load script first (Start-BulkFetch does), or import the folder with -Path.",
                }
                : null;
        }

        string dataset = input.Dataset ?? parsed?.Dataset ?? StripExtensions(fileName);
        var (job, failed) = PlanData(input, dataset, Options!, ScriptEntries, Database, Streamed);
        if (job is not null)
        {
            Arrivals.Writer.TryWrite(job);
        }

        return failed;
    }

    /// <summary>True for an input that is a data file of a dump (not its schema or load script).</summary>
    public static bool IsDataFile(ImportInput input) => KindOf(input) == EntryKind.Data;

    /// <summary>What an input is: a data file, a schema script, a load script, or other.</summary>
    public static EntryKind KindOf(ImportInput input)
    {
        string fileName = System.IO.Path.GetFileName(input.Path);
        return input.Kind ?? DumpFileName.TryParse(fileName)?.Kind ?? (FetchLayout.WithoutCompression(fileName).EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? EntryKind.Data : EntryKind.Other);
    }

    /// <summary>No more files will arrive: the import applies post-data after the tables already queued.</summary>
    public void CompleteArrivals() => Arrivals?.Writer.TryComplete();

    /// <summary>Reads the inputs into a plan (no database work). Scripts of objects in the bucket are read into memory.</summary>
    public static ImportPlan Build(IEnumerable<ImportInput> inputs, ImportOptions options, IBulkReporter reporter, CancellationToken ct = default)
        => Build(inputs, options, reporter, arriving: false, ct);

    /// <summary>
    /// A plan of the inputs so far that takes more data files while it runs (<see cref="Arrive"/>, then
    /// <see cref="CompleteArrivals"/>): Invoke-BulkImport fed by Start-BulkFetch loads each table as its file arrives.
    /// </summary>
    public static ImportPlan BuildArriving(IEnumerable<ImportInput> inputs, ImportOptions options, IBulkReporter reporter, CancellationToken ct = default)
        => Build(inputs, options, reporter, arriving: true, ct);

    private static ImportPlan Build(IEnumerable<ImportInput> inputs, ImportOptions options, IBulkReporter reporter, bool arriving, CancellationToken ct)
    {
        var files = new List<ImportInput>();
        StreamedObjects? streamed = null;
        try
        {
            foreach (var input in inputs)
            {
                if (input.Entry is not null)
                {
                    // An object in the bucket: streamed, no local file.
                    if (streamed is null)
                    {
                        streamed = new StreamedObjects(options.Streaming ?? StreamedObjects.Defaults, options.KeepDownload);
                        streamed.LockKeepFolder(options.NoWait, reporter, ct);
                    }
                    files.Add(input);
                }
                else if (Directory.Exists(input.Path))
                {
                    int before = files.Count;
                    foreach (var f in Directory.EnumerateFiles(input.Path).Order(StringComparer.Ordinal))
                    {
                        var name = DumpFileName.TryParse(System.IO.Path.GetFileName(f));
                        if (name is not null && name.Kind != EntryKind.Other)
                        {
                            files.Add(new ImportInput(f));
                        }
                    }

                    // A folder with no dump in it is a mistake (a wrong -Path), not an empty import: nothing is created.
                    // With -Schema it is only worth a warning: the schema is loaded.
                    if (files.Count == before && options.SchemaPath is not null)
                    {
                        reporter.Warning($"The folder '{input.Path}' holds no dump file: only the schema {System.IO.Path.GetFileName(options.SchemaPath)} is loaded.");
                    }
                    else if (files.Count == before)
                    {
                        throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"The folder '{input.Path}' holds no dump file (<dataset>-<date>.csv[.bz2], schema-<date>.sql, load-bulk-data-<date>.sh): nothing was imported and no database was created.", input.Path);
                    }
                }
                else if (File.Exists(input.Path))
                {
                    files.Add(input);
                }
                else
                {
                    throw new BulkDataException(BulkErrorKind.ObjectNotFound, $"The input '{input.Path}' does not exist.", input.Path);
                }
            }

            string? schemaPath = options.SchemaPath;
            string? loadScriptPath = null;
            var data = new List<(ImportInput Input, string Dataset)>();
            foreach (var f in files)
            {
                string fileName = System.IO.Path.GetFileName(f.Path);
                var parsed = DumpFileName.TryParse(fileName);
                var kind = f.Kind ?? parsed?.Kind ?? (FetchLayout.WithoutCompression(fileName).EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? EntryKind.Data : EntryKind.Other);
                switch (kind)
                {
                    case EntryKind.Schema:
                        if (options.SchemaPath is null && (schemaPath is null || string.CompareOrdinal(fileName, System.IO.Path.GetFileName(schemaPath)) > 0))
                        {
                            schemaPath = f.Path;
                        }

                        break;
                    case EntryKind.LoadScript:
                        if (loadScriptPath is null || string.CompareOrdinal(fileName, System.IO.Path.GetFileName(loadScriptPath)) > 0)
                        {
                            loadScriptPath = f.Path;
                        }

                        break;
                    case EntryKind.Data:
                        string dataset = f.Dataset ?? parsed?.Dataset ?? StripExtensions(fileName);
                        data.Add((f, dataset));
                        break;
                    default:
                        reporter.Verbose($"{f.Path}: not a data file, schema or load script of a dump; ignored.");
                        break;
                }
            }

            var remote = files.Where(f => f.Entry is not null).ToDictionary(f => f.Path, f => f.Entry!, StringComparer.Ordinal);
            var script = loadScriptPath is null ? Array.Empty<LoadScriptEntry>()
                : remote.TryGetValue(loadScriptPath, out var loadObject) ? LoadScript.Parse(streamed!.ReadText(loadObject, reporter, ct), loadScriptPath)
                : LoadScript.Load(loadScriptPath);
            var byFile = new Dictionary<string, LoadScriptEntry>(StringComparer.OrdinalIgnoreCase);
            foreach (var e in script)
            {
                byFile[e.FileName] = e;
            }

            SchemaScript? schema = schemaPath is null ? null
                : remote.TryGetValue(schemaPath, out var schemaObject) ? SchemaScript.Parse(streamed!.ReadText(schemaObject, reporter, ct), schemaPath)
                : SchemaScript.Load(schemaPath);
            long schemaBytes = schemaPath is null ? 0 : remote.TryGetValue(schemaPath, out var so) ? so.Size : new FileInfo(schemaPath).Length;
            string database = options.DatabaseGiven ? options.Connection.Database : schema?.DatabaseName ?? options.Connection.Database;

            var jobs = new List<TableJob>();
            var unplanned = new List<ImportResult>();
            foreach (var (input, dataset) in data)
            {
                var (job, failed) = PlanData(input, dataset, options, byFile, database, streamed);
                if (job is not null)
                {
                    jobs.Add(job);
                }
                else
                {
                    unplanned.Add(failed!);
                }
            }

            // One file per table. Of files from different dumps the newest dump wins (the others are named in a
            // warning). Two files of the same dump for one table are an error naming both, and neither is loaded:
            // only the same export compressed and not (x.csv beside x.csv.bz2) counts as one file (the .bz2 is read).
            var chosen = new List<TableJob>();
            foreach (var group in jobs.GroupBy(j => j.QualifiedTable, StringComparer.OrdinalIgnoreCase))
            {
                var byDump = group.GroupBy(j => DumpFileName.TryParse(j.FileName)?.Date ?? DateTime.MinValue).OrderByDescending(g => g.Key).ToList();
                var newest = byDump[0].OrderByDescending(j => j.IsBzip2).ThenBy(j => j.FileName, StringComparer.Ordinal).ToList();
                var exports = newest.GroupBy(j => j.IsBzip2 ? j.FileName[..^4] : j.FileName, StringComparer.Ordinal).Select(g => g.First()).ToList();
                if (exports.Count > 1)
                {
                    string names = string.Join(" and ", exports.Select(j => j.FilePath));
                    string dump = byDump[0].Key == DateTime.MinValue ? "the same folder" : $"the dump of {byDump[0].Key:yyyy-MM-dd}";
                    foreach (var j in exports)
                    {
                        unplanned.Add(new ImportResult
                        {
                            Table = j.QualifiedTable, Dataset = j.Dataset, File = j.FilePath, Bytes = j.Bytes, Status = ImportStatus.Failed, Database = database, Dialect = j.Dialect.Name,
                            Error = $"{names} both map to table {group.Key} in {dump}; neither is imported and the table is not touched. Remove one, or map one elsewhere with -TableMap.",
                        });
                    }

                    continue;
                }

                chosen.Add(exports[0]);
                foreach (var other in newest.Where(j => !ReferenceEquals(j, exports[0])))
                {
                    reporter.Verbose($"{other.FilePath}: not read, {exports[0].FileName} is the same export compressed.");
                }

                foreach (var other in byDump.Skip(1).SelectMany(g => g))
                {
                    reporter.Warning($"{other.FilePath}: not imported, {exports[0].FileName} is the newer file for table {group.Key}.");
                }
            }

            if (chosen.Count == 0 && unplanned.Count == 0 && schema is null && !arriving)
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, $"Nothing to import: the inputs hold no data file and no schema{(loadScriptPath is null ? "" : $" (only the load script '{loadScriptPath}')")}; no database was created.", loadScriptPath);
            }

            return new ImportPlan
            {
                Database = database, Schema = schema, SchemaPath = schemaPath, LoadScriptPath = loadScriptPath, Streamed = streamed, SchemaBytes = schemaBytes,
                Arrivals = arriving ? Channel.CreateUnbounded<TableJob>(new UnboundedChannelOptions { SingleReader = true }) : null, Options = options, ScriptEntries = byFile,
                Jobs = chosen.OrderByDescending(j => j.Bytes).ThenBy(j => j.Table, StringComparer.Ordinal).ToList(),
                Unplanned = unplanned,
            };
        }
        catch
        {
            // A plan that fails to build releases what it opened (the stores, the -KeepDownload folder's lock).
            streamed?.Dispose();
            throw;
        }
    }

    /// <summary>One data file's table job (its table, dialect and columns), or the failed result of a file no table is known for.</summary>
    private static (TableJob? Job, ImportResult? Unplanned) PlanData(ImportInput input, string dataset, ImportOptions options, IReadOnlyDictionary<string, LoadScriptEntry> byFile, string database, StreamedObjects? streamed)
    {
        string fileName = System.IO.Path.GetFileName(input.Path);
        string csvName = FetchLayout.WithoutCompression(fileName);
        byFile.TryGetValue(csvName, out var entry);
        string? table = null;
        string schemaName = "public";
        string source;
        if (options.TableMap is not null && (options.TableMap.TryGetValue(dataset, out var mapped) || options.TableMap.TryGetValue(fileName, out mapped)))
        {
            table = mapped;
            source = "TableMap";
            int dot = mapped.IndexOf('.');
            if (dot > 0)
            {
                schemaName = mapped[..dot];
                table = mapped[(dot + 1)..];
            }
        }
        else if (entry is not null)
        {
            table = DatasetCatalog.CorrectTable(entry.Table);
            schemaName = entry.Schema;
            source = "LoadScript";
        }
        else
        {
            table = DatasetCatalog.TableFor(dataset);
            source = "Catalog";
        }

        var info = input.Entry is null ? new FileInfo(input.Path) : null;
        long bytes = input.Entry?.Size ?? info!.Length;
        if (table is null)
        {
            return (null, new ImportResult
            {
                Table = "", Dataset = dataset, File = input.Path, Bytes = bytes, Status = ImportStatus.Failed, Database = database,
                Error = $"{input.Path}: no table is known for dataset '{dataset}' (not in the publisher's mapping nor in a load script); give it with -TableMap @{{ '{dataset}' = '<table>' }}.",
            });
        }

        var dumpDate = DumpFileName.TryParse(System.IO.Path.GetFileName(input.Path))?.Date;
        var dialect = options.Dialect ?? entry?.Dialect ?? DialectSniffer.PriorFor(dumpDate);
        string reason = options.Dialect is not null ? $"{DialectSniffer.Stated} (-Dialect)"
            : entry?.Dialect is not null ? $"{DialectSniffer.Stated} (load script)"
            : dumpDate is null ? DialectSniffer.Prior : $"{DialectSniffer.Prior} (dump of {dumpDate:yyyy-MM-dd})";
        return (new TableJob
        {
            Schema = schemaName, Table = table, Dataset = dataset, FilePath = input.Entry is null ? System.IO.Path.GetFullPath(input.Path) : input.Path, ETag = input.ETag?.Trim('"'),
            Bytes = bytes, LastWriteUtc = input.Entry?.LastModified ?? info!.LastWriteTimeUtc, Input = input.Entry is null ? null : streamed!.BytesOf(input.Entry), Dialect = dialect, DialectReason = reason,
            ScriptColumns = source == "LoadScript" || (entry is not null && DatasetCatalog.CorrectTable(entry.Table) == table) ? entry?.Columns : null, Source = source,
        }, null);
    }

    private static string StripExtensions(string fileName)
    {
        string csv = FetchLayout.WithoutCompression(fileName);
        return csv.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? csv[..^4] : fileName;
    }

    /// <summary>The plan as steps, in the order they run, for -WhatIf.</summary>
    public IReadOnlyList<ImportPlanStep> Steps() => Steps(false, null);

    /// <summary>
    /// The plan as steps for -Plan: with -Online the loads go into a staging generation, the space it needs is a
    /// step of its own (measured read-only on the target database when it can be reached: <see cref="StagingSpace"/>),
    /// and the swap comes last.
    /// </summary>
    public async Task<IReadOnlyList<ImportPlanStep>> StepsAsync(ImportOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Online)
        {
            return Steps();
        }

        var space = await StagingSpace.PlanStepAsync(options.Connection, this, 0, ct).ConfigureAwait(false);
        return Steps(true, space);
    }

    private List<ImportPlanStep> Steps(bool online, ImportPlanStep? space)
    {
        var steps = new List<ImportPlanStep>();
        int order = 1;
        if (Schema is not null)
        {
            steps.Add(new ImportPlanStep { Order = order++, Database = Database, Step = "CreateDatabase", File = SchemaPath, Detail = $"create database {Database} when it does not exist" });
            steps.Add(new ImportPlanStep { Order = order++, Database = Database, Step = "PreData", File = SchemaPath, Detail = $"{Schema.PreData.Count} statements ({Schema.Tables.Count} tables) when the tables do not exist yet" });
        }
        else
        {
            steps.Add(new ImportPlanStep { Order = order++, Database = Database, Step = "CreateDatabase", Detail = $"create database {Database} when it does not exist; no schema script: tables must exist" });
        }

        if (space is not null)
        {
            steps.Add(new ImportPlanStep { Order = order++, Database = space.Database, Step = space.Step, Bytes = space.Bytes, Detail = space.Detail });
        }

        string load = online ? "COPY into its staging copy (bulkdata_stage_<n>) in one transaction, the live table untouched" : "TRUNCATE + COPY in one transaction";
        foreach (var job in Jobs)
        {
            steps.Add(new ImportPlanStep
            {
                Order = order++, Database = Database, Step = "Load", Table = job.QualifiedTable, File = job.FilePath, Bytes = job.Bytes,
                Dialect = job.Dialect.ToString(),
                Detail = $"{load} (table from {job.Source}){(job.Input is { IsLocal: false } ? KeepDownload is null ? "; streamed from the bucket, no local space needed" : $"; streamed from the bucket, a verified copy kept in {KeepDownload}" : "")}",
            });
        }

        if (Schema is not null || online)
        {
            steps.Add(new ImportPlanStep { Order = order++, Database = Database, Step = "PostData", File = online ? null : SchemaPath, Detail = online
                ? "the live tables' indexes, keys and triggers built on the staging copies, each table's as soon as its load committed; foreign keys NOT VALID, then validated"
                : $"{Schema!.PostData.Count} statements (indexes, constraints, triggers) after the data" });
        }

        if (online)
        {
            steps.Add(new ImportPlanStep { Order = order, Database = Database, Step = "Swap", Detail = $"the {Jobs.Select(j => j.QualifiedTable).Distinct(StringComparer.OrdinalIgnoreCase).Count()} table(s) swapped in one transaction (short lock_timeout, retried); foreign keys of other tables re-pointed; the previous generation dropped, or kept with -KeepPrevious" });
        }

        return steps;
    }
}
