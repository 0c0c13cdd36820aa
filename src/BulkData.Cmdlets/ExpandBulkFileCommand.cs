using BulkData.Engine.DumpFiles;
using System.Collections.ObjectModel;
using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Transfer;

namespace BulkData.Cmdlets;

/// <summary>Expands .bz2 files (BulkFile objects or paths), verified and atomically, largest first.</summary>
[Cmdlet(VerbsData.Expand, "BulkFile", SupportsShouldProcess = true, DefaultParameterSetName = "BulkFile")]
[OutputType(typeof(BulkFile))]
public sealed class ExpandBulkFileCommand : BulkCmdlet
{
    private readonly List<(string Path, BulkFile? Origin)> _inputs = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Path")]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = "BulkFile")]
    public BulkFile[]? InputObject { get; set; }

    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    [Parameter]
    public SwitchParameter KeepCompressed { get; set; }

    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 1;

    [Parameter]
    [ValidateRange(0, 1024)]
    public int Threads { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "BulkFile")
        {
            foreach (var file in InputObject ?? Array.Empty<BulkFile>())
            {
                if (file is null)
                {
                    continue;
                }

                if (!BulkExpander.IsCompressed(file.Path) || file.State == BulkFileState.Failed)
                {
                    // Schema, load script, an already expanded CSV, or a failed download: passed on as it is.
                    WriteVerbose($"'{file.Path}' is not a .bz2 file to expand: passed on.");
                    WriteObject(file);
                    continue;
                }

                _inputs.Add((GetUnresolvedProviderPathFromPSPath(file.Path), file));
            }

            return;
        }

        foreach (string path in Path)
        {
            Collection<string> resolved;
            try
            {
                resolved = GetResolvedProviderPathFromPSPath(path, out _);
            }
            catch (Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                WriteBulkError(new BulkDataException(BulkErrorKind.ObjectNotFound, $"The file '{path}' does not exist.", path), path);
                continue;
            }

            foreach (string file in resolved)
            {
                if (!BulkExpander.IsCompressed(file))
                {
                    WriteBulkError(new BulkDataException(BulkErrorKind.InvalidArgument, $"'{file}' is not a .bz2 file.", file), file);
                    continue;
                }

                _inputs.Add((file, null));
            }
        }
    }

    protected override void EndProcessing()
    {
        string? destination = Destination is null ? null : GetUnresolvedProviderPathFromPSPath(Destination);
        IReadOnlyList<ExpandItem> plan;
        try
        {
            plan = BulkExpander.Plan(_inputs, destination);
        }
        catch (BulkDataException ex)
        {
            ThrowBulkError(ex, Destination);
            return;
        }

        var approved = new List<ExpandItem>();
        foreach (var item in plan)
        {
            if (ShouldProcess(item.SourcePath, $"Expand to '{item.DestinationPath}'{(KeepCompressed.IsPresent ? string.Empty : " and delete the .bz2 file")}"))
            {
                approved.Add(item);
            }
        }

        if (approved.Count == 0)
        {
            return;
        }

        if (destination is not null)
        {
            Directory.CreateDirectory(destination);
        }

        var options = new ExpandOptions { KeepCompressed = KeepCompressed.IsPresent, Force = Force.IsPresent, Threads = Threads, NoWait = NoWait.IsPresent };
        // A file's failure is written as soon as that file fails; the other files go on.
        RunEngine((reporter, emit, ct) => BulkExpander.RunAsync(approved, options, ThrottleLimit, reporter, WriteOutcomes<BulkFile>(emit, f => f.Path), ct), Destination);
    }
}
