using BulkData.Engine.Import.Sql;
using BulkData.Engine.DumpFiles;
using System.Collections;
using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Import;
using BulkData.Engine.Manifest;
using BulkData.Engine.Transfer;

namespace BulkData.Cmdlets;

/// <summary>Imports the files of a dump (CSV or .csv.bz2, schema script, load script) into PostgreSQL.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "BulkImport", SupportsShouldProcess = true, DefaultParameterSetName = "Parts")]
[OutputType(typeof(ImportResult), typeof(ImportPlanStep), typeof(ImportVerification), typeof(BulkGeneration))]
public sealed class InvokeBulkImportCommand : DatabaseCmdlet
{
    private readonly List<ImportInput> _inputs = new();

    [Parameter(ValueFromPipeline = true)]
    public object[]? InputObject { get; set; }

    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Schema { get; set; }

    [Parameter]
    public Hashtable? TableMap { get; set; }

    [Parameter]
    [ValidateSet("Escape", "ForceQuote", "Backtick", "Rfc4180")]
    public string? Dialect { get; set; }

    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    /// <summary>Session settings of the import's connections (loads and post-data), over the chosen ones: @{ maintenance_work_mem = '1GB'; default_toast_compression = 'pglz' }.</summary>
    [Parameter]
    public Hashtable? ImportSetting { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    public SwitchParameter Verify { get; set; }

    /// <summary>Outputs the plan (ImportPlanStep objects) and does nothing else; -WhatIf and a declined -Confirm write no objects.</summary>
    [Parameter]
    public SwitchParameter Plan { get; set; }

    /// <summary>Deletes the orphans of a foreign key whose validation fails (reported), then validates it.</summary>
    [Parameter]
    public SwitchParameter RemoveOrphans { get; set; }

    /// <summary>Loads the columns a file and its table share, dropping the file's other columns from every record.</summary>
    [Parameter]
    public SwitchParameter ExcludeExtraColumns { get; set; }

    // -Online (issue 14): refresh tables in use without emptying them.

    /// <summary>Loads existing tables into a staging generation beside the live ones and swaps them in at once, in one short transaction.</summary>
    [Parameter]
    public SwitchParameter Online { get; set; }

    /// <summary>With -Online: keeps the previous generation in a schema of its own (Undo-BulkImport swaps it back).</summary>
    [Parameter]
    public SwitchParameter KeepPrevious { get; set; }

    // Streaming from the bucket (issue 13): ManifestEntry objects in the pipeline are streamed into PostgreSQL.

    /// <summary>Also writes each streamed object, verified, into this folder under Start-BulkFetch's names.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeepDownload { get; set; }

    /// <summary>Attempts in a row without progress before a streamed object's read gives up (as Start-BulkFetch's).</summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int RetryCount { get; set; } = 5;

    /// <summary>A streamed read that receives no byte for this long is cut and resumed (as Start-BulkFetch's).</summary>
    [Parameter]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>With -KeepDownload: writes of the kept copy pause while its folder's file system has less than this free (as Start-BulkFetch's).</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long MinimumFreeSpace { get; set; } = FetchOptions.DefaultMinimumFreeSpace;

    /// <summary>With -KeepDownload: how long the kept copy's writes may stay paused for lack of space before its table fails (as Start-BulkFetch's).</summary>
    [Parameter]
    public TimeSpan LowSpaceTimeout { get; set; } = FetchOptions.DefaultLowSpaceTimeout;

    /// <summary>The AWS profile for the bucket's credentials (else the environment's, else anonymous).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProfileName { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var item in InputObject ?? Array.Empty<object>())
        {
            object o = item is PSObject ps ? ps.BaseObject : item;
            switch (o)
            {
                case null:
                    break;
                case BulkFile f when f.State == BulkFileState.Failed:
                    WriteWarning($"{f.Path}: not imported, its fetch failed ({f.Error}).");
                    break;
                case BulkFile f:
                    _inputs.Add(new ImportInput(f.Path, f.Dataset, f.ETag, f.Kind));
                    _fetched++;
                    break;
                case ManifestEntry m:
                    _inputs.Add(ImportInput.Of(m));
                    break;
                case FileSystemInfo fi:
                    _inputs.Add(new ImportInput(fi.FullName));
                    break;
                case string s:
                    _inputs.Add(new ImportInput(GetUnresolvedProviderPathFromPSPath(s)));
                    break;
                case var _ when PipelineObjects.TryBulkFile(item, out var path, out var dataset, out var etag, out var kind, out var state, out var error):
                    if (Enum.TryParse<BulkFileState>(state, ignoreCase: true, out var st) && st == BulkFileState.Failed)
                    {
                        WriteWarning($"{path}: not imported, its fetch failed ({error}).");
                    }
                    else
                    {
                        _inputs.Add(new ImportInput(GetUnresolvedProviderPathFromPSPath(path), dataset, etag, kind));
                    }

                    break;
                case var _ when !PipelineObjects.TryGet(item, "Path", out _) && PipelineObjects.TryGet(item, "Key", out _) && PipelineObjects.TryGet(item, "Size", out _):
                    // A manifest entry by its properties (Import-Clixml, Receive-Job, a [pscustomobject]).
                    try
                    {
                        _inputs.Add(ImportInput.Of(PipelineObjects.ToManifestEntry(item)));
                    }
                    catch (Exception ex) when (ex is ArgumentException or BulkDataException)
                    {
                        WriteError(new ErrorRecord(ex, "InvalidInput", ErrorCategory.InvalidArgument, o));
                    }

                    break;
                default:
                    WriteError(new ErrorRecord(new ArgumentException(o is PSCustomObject || item is PSObject { BaseObject: PSCustomObject }
                        ? "Cannot import an object without a 'Path' property: give BulkFile objects (also from Import-Clixml or Receive-Job), files, paths or objects with a Path."
                        : $"Cannot import a {o.GetType().Name}: give BulkFile objects, files or paths."), "InvalidInput", ErrorCategory.InvalidArgument, o));
                    break;
            }
        }

        Overlap();
    }

    // Overlap with Start-BulkFetch (issue 13): fed BulkFile objects, the import starts at the first data file once
    // the schema (or -Schema) and the load script have arrived (Start-BulkFetch fetches them first; files that come
    // in another order are collected and imported at the end, as before), and every later file is handed to the
    // running import as it arrives,
    // through ImportPlan.Arrive (the one seam by which table jobs come over time); EndProcessing completes it.
    private int _fetched;
    private int _fed;
    private bool _declined;
    private ImportPlan? _arrivingPlan;
    private BackgroundRun? _run;

    private void Overlap()
    {
        if (_run is not null)
        {
            FeedArrivals();
            Pump(_run);
            return;
        }

        // -Online loads the whole dump beside the live tables before one swap: nothing to overlap.
        bool eligible = !_declined && _fetched == _inputs.Count && Path is null && !Plan.IsPresent && !Online.IsPresent && !MyInvocation.BoundParameters.ContainsKey("WhatIf")
            && _inputs.Any(ImportPlan.IsDataFile)
            && (Schema is not null || _inputs.Any(i => ImportPlan.KindOf(i) == EntryKind.Schema))
            && _inputs.Any(i => ImportPlan.KindOf(i) == EntryKind.LoadScript);
        if (!eligible)
        {
            return;
        }

        var options = CreateOptions();
        var plan = RunEngine((reporter, _, ct) => Task.Run(() => ImportPlan.BuildArriving(_inputs, options, reporter, ct), ct), null);
        string target = $"database {plan.Database} on {options.Connection.Host}:{options.Connection.Port}";
        if (!ShouldProcess(target, $"Import the tables of the fetched files as each arrives{(!plan.HasSchema ? "" : $", with schema {System.IO.Path.GetFileName(plan.SchemaPath)}")}"))
        {
            _declined = true;
            plan.Dispose();
            return;
        }

        _arrivingPlan = plan;
        _fed = _inputs.Count;
        _run = StartEngine((reporter, emit, ct) => new BulkImporter(options, reporter).RunAsync(plan, WriteOutcomes<ImportResult>(emit, r => r, "ImportTableFailed"), emit, ct));
    }

    private void FeedArrivals()
    {
        for (; _fed < _inputs.Count; _fed++)
        {
            if (_arrivingPlan!.Arrive(_inputs[_fed]) is { } failed)
            {
                WriteError(new ErrorRecord(new BulkDataException(BulkErrorKind.InvalidData, failed.Error!, failed.File), "ImportTableFailed", ErrorCategory.InvalidData, failed.File));
                WriteObject(failed);
            }
        }
    }

    protected override void EndProcessing()
    {
        if (_run is not null)
        {
            using var run = _run;
            using var arriving = _arrivingPlan;
            FeedArrivals();
            arriving!.CompleteArrivals();
            Finish(run, $"database {arriving.Database}");
            return;
        }

        if (_declined)
        {
            return;
        }

        foreach (var p in Path ?? Array.Empty<string>())
        {
            _inputs.Add(new ImportInput(GetUnresolvedProviderPathFromPSPath(p)));
        }

        // -Schema alone loads the schema (pre-data and post-data into an empty database).
        if (_inputs.Count == 0 && Schema is null)
        {
            ThrowBulkError(new BulkDataException(BulkErrorKind.InvalidArgument, "Nothing to import: give -Path or -Schema, or pipe BulkFile objects, files or paths."), null);
            return;
        }

        var options = CreateOptions();
        ImportPlan plan;
        if (options.KeepDownload is not null && !_inputs.Any(i => i.Entry is not null))
        {
            ThrowBulkError(new BulkDataException(BulkErrorKind.InvalidArgument, "-KeepDownload keeps a copy of objects streamed from the bucket: pipe the ManifestEntry objects of Get-BulkManifest."), KeepDownload);
            return;
        }

        plan = RunEngine((reporter, _, ct) => Task.Run(() => ImportPlan.Build(_inputs, options, reporter, ct), ct), null);
        using var planOwner = plan;
        if (Plan.IsPresent)
        {
            // The plan, asked for explicitly: nothing is created; with -Online the live tables' sizes are read (the space the staging generation needs).
            WriteObject(Online.IsPresent ? RunEngine((_, _, ct) => plan.StepsAsync(options, ct), null) : plan.Steps(), enumerateCollection: true);
            return;
        }

        string target = $"database {plan.Database} on {options.Connection.Host}:{options.Connection.Port}";
        string streamed = !plan.NeedsNoLocalSpace && plan.KeepDownload is null ? "" : plan.KeepDownload is null ? ", streamed from the bucket (no local space needed)" : $", streamed from the bucket with a copy kept in '{plan.KeepDownload}'";
        if (!ShouldProcess(target, $"{(Online.IsPresent ? "Refresh (-Online: load beside, then swap)" : "Import")} {plan.TableCount} table(s){(!plan.HasSchema ? "" : $" with schema {System.IO.Path.GetFileName(plan.SchemaPath)}")}{streamed}"))
        {
            // -WhatIf or a declined -Confirm: the message above says what would be done; no objects (use -Plan).
            return;
        }

        // Each failed table's error is written as soon as that table fails, before its result.
        RunEngine((reporter, emit, ct) => new BulkImporter(options, reporter) { OnGeneration = emit }.RunAsync(plan, WriteOutcomes<ImportResult>(emit, r => r, "ImportTableFailed"), emit, ct), target);
    }
    private ImportOptions CreateOptions()
    {
        try
        {
            var connection = ConnectionInfo();
            if (KeepPrevious.IsPresent && !Online.IsPresent)
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, "-KeepPrevious keeps the previous generation of an -Online import: give -Online too.");
            }

            if (KeepDownload is null && (MyInvocation.BoundParameters.ContainsKey(nameof(MinimumFreeSpace)) || MyInvocation.BoundParameters.ContainsKey(nameof(LowSpaceTimeout))))
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, "-MinimumFreeSpace and -LowSpaceTimeout apply to the copy -KeepDownload writes (a streamed import without it writes no local file): give -KeepDownload too.");
            }

            FetchOptions.CheckParameters(MinimumFreeSpace, LowSpaceTimeout, StallTimeout);

            return new ImportOptions
            {
                Connection = connection,
                DatabaseGiven = Database is not null,
                SchemaPath = Schema is null ? null : GetUnresolvedProviderPathFromPSPath(Schema),
                TableMap = TableMap?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "", StringComparer.OrdinalIgnoreCase),
                Dialect = Dialect is null ? null : CopyDialect.FromName(Dialect),
                ThrottleLimit = ThrottleLimit,
                Force = Force.IsPresent,
                NoWait = NoWait.IsPresent,
                Verify = Verify.IsPresent,
                RemoveOrphans = RemoveOrphans.IsPresent,
                ExcludeExtraColumns = ExcludeExtraColumns.IsPresent,
                SessionSettings = ImportSetting?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "", StringComparer.OrdinalIgnoreCase),
                Online = Online.IsPresent,
                KeepPrevious = KeepPrevious.IsPresent,
                KeepDownload = KeepDownload is null ? null : GetUnresolvedProviderPathFromPSPath(KeepDownload),
                Streaming = !_inputs.Any(i => i.Entry is not null) ? null : new FetchOptions
                {
                    Destination = System.IO.Path.GetTempPath(),
                    RetryCount = RetryCount,
                    StallTimeout = StallTimeout,
                    MinimumFreeSpace = MinimumFreeSpace,
                    LowSpaceTimeout = LowSpaceTimeout,
                    Credentials = Credentials.Resolve(this, null, ProfileName, ProfileName),
                },
            };
        }
        catch (BulkDataException ex)
        {
            ThrowBulkError(ex, null);
            throw;
        }
    }
}
