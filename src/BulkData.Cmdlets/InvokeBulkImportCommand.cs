using BulkData.Engine.Import.Sql;
using BulkData.Engine.DumpFiles;
using System.Collections;
using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Import;
using BulkData.Engine.Transfer;

namespace BulkData.Cmdlets;

/// <summary>Imports the files of a dump (CSV or .csv.bz2, schema script, load script) into PostgreSQL.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "BulkImport", SupportsShouldProcess = true, DefaultParameterSetName = "Parts")]
[OutputType(typeof(ImportResult), typeof(ImportPlanStep), typeof(ImportVerification), typeof(BulkGeneration))]
public sealed class InvokeBulkImportCommand : BulkCmdlet
{
    private readonly List<ImportInput> _inputs = new();

    [Parameter(ValueFromPipeline = true)]
    public object[]? InputObject { get; set; }

    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(ParameterSetName = "ConnectionString", Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string? ConnectionString { get; set; }

    [Parameter(ParameterSetName = "Parts")]
    [ValidateNotNullOrEmpty]
    public new string? Host { get; set; }

    [Parameter(ParameterSetName = "Parts")]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    [Parameter(ParameterSetName = "Parts")]
    [Credential]
    public PSCredential? Credential { get; set; }

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

    /// <summary>Session settings of the post-data connections (index builds, keys, validations), over the chosen ones: @{ maintenance_work_mem = '1GB' }.</summary>
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
                default:
                    WriteError(new ErrorRecord(new ArgumentException(o is PSCustomObject || item is PSObject { BaseObject: PSCustomObject }
                        ? "Cannot import an object without a 'Path' property: give BulkFile objects (also from Import-Clixml or Receive-Job), files, paths or objects with a Path."
                        : $"Cannot import a {o.GetType().Name}: give BulkFile objects, files or paths."), "InvalidInput", ErrorCategory.InvalidArgument, o));
                    break;
            }
        }
    }

    protected override void EndProcessing()
    {
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

        ImportOptions options;
        ImportPlan plan;
        try
        {
            var connection = PgConnectionInfo.Create(
                ConnectionString,
                Host,
                Port > 0 ? Port : null,
                Database,
                Credential is null || Credential == PSCredential.Empty ? null : Credential.UserName,
                Credential is null || Credential == PSCredential.Empty ? null : Credential.GetNetworkCredential().Password);
            options = new ImportOptions
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
            };
            if (KeepPrevious.IsPresent && !Online.IsPresent)
            {
                throw new BulkDataException(BulkErrorKind.InvalidArgument, "-KeepPrevious keeps the previous generation of an -Online import: give -Online too.");
            }
        }
        catch (BulkDataException ex)
        {
            ThrowBulkError(ex, null);
            return;
        }

        plan = RunEngine((reporter, _, _) => Task.FromResult(ImportPlan.Build(_inputs, options, reporter)), null);
        if (Plan.IsPresent)
        {
            // The plan, asked for explicitly: nothing is connected to or created.
            WriteObject(plan.Steps(), enumerateCollection: true);
            return;
        }

        string target = $"database {plan.Database} on {options.Connection.Host}:{options.Connection.Port}";
        if (!ShouldProcess(target, $"{(Online.IsPresent ? "Refresh (-Online: load beside, then swap)" : "Import")} {plan.TableCount} table(s){(!plan.HasSchema ? "" : $" with schema {System.IO.Path.GetFileName(plan.SchemaPath)}")}"))
        {
            // -WhatIf or a declined -Confirm: the message above says what would be done; no objects (use -Plan).
            return;
        }

        // Each failed table's error is written as soon as that table fails, before its result.
        RunEngine((reporter, emit, ct) => new BulkImporter(options, reporter) { OnGeneration = emit }.RunAsync(plan, WriteOutcomes<ImportResult>(emit, r => r, "ImportTableFailed"), emit, ct), target);
    }
}
