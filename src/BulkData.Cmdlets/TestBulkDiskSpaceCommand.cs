using System.Management.Automation;
using BulkData.Engine.Manifest;
using BulkData.Engine.Transfer;

namespace BulkData.Cmdlets;

/// <summary>Checks whether a folder's file system has room for the files of a manifest.</summary>
[Cmdlet(VerbsDiagnostic.Test, "BulkDiskSpace", DefaultParameterSetName = "Manifest")]
[OutputType(typeof(DiskSpaceReport), typeof(bool))]
public sealed class TestBulkDiskSpaceCommand : BulkCmdlet
{
    private readonly List<SpaceItem> _items = new();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Manifest")]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Bytes")]
    [Parameter(Position = 0, ParameterSetName = "Streamed")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The plan is a streamed import (Get-BulkManifest | Invoke-BulkImport): no local space is needed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Streamed")]
    public SwitchParameter Streamed { get; set; }

    [Parameter(ParameterSetName = "Manifest", ValueFromPipeline = true)]
    [Parameter(ParameterSetName = "Streamed", ValueFromPipeline = true)]
    [ManifestEntryTransformation]
    public ManifestEntry[]? InputObject { get; set; }

    [Parameter(ParameterSetName = "Bytes", Mandatory = true)]
    [ValidateRange(0, long.MaxValue)]
    public long RequiredBytes { get; set; }

    [Parameter]
    public SwitchParameter Extract { get; set; }

    [Parameter]
    [ValidateRange(1.0, 100.0)]
    public double ExpansionRatio { get; set; } = DiskSpace.DefaultExpansionRatio;

    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long ReserveBytes { get; set; }

    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var entry in InputObject ?? Array.Empty<ManifestEntry>())
        {
            if (entry is not null)
            {
                _items.Add(new SpaceItem(entry.FileName, entry.Size, entry.ETag));
            }
        }
    }

    protected override void EndProcessing()
    {
        string path = GetUnresolvedProviderPathFromPSPath(Path.Length == 0 ? System.IO.Path.GetTempPath() : Path);
        DiskSpaceReport report;
        try
        {
            report = Streamed.IsPresent ? DiskSpace.Streamed(path, _items, ReserveBytes) : DiskSpace.Measure(path, _items, Extract.IsPresent, ExpansionRatio, ReserveBytes, ParameterSetName == "Bytes" ? RequiredBytes : 0);
        }
        catch (Exception ex) when (ex is BulkData.Engine.BulkDataException or IOException or UnauthorizedAccessException)
        {
            ThrowBulkError(ex, Path);
            return;
        }

        WriteVerbose($"{report.MeasuredPath}: {report.AvailableBytes} bytes available; {report.FileCount} files, {report.FilesPresent} already present; {report.RequiredBytes} bytes required plus {report.ReserveBytes} reserve.");
        if (Quiet.IsPresent)
        {
            WriteObject(report.IsSufficient);
        }
        else
        {
            WriteObject(report);
        }
    }
}
