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

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    [Parameter(ParameterSetName = "Manifest", ValueFromPipeline = true)]
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
        string path = GetUnresolvedProviderPathFromPSPath(Path);
        DiskSpaceReport report;
        try
        {
            report = DiskSpace.Measure(path, _items, Extract.IsPresent, ExpansionRatio, ReserveBytes, ParameterSetName == "Bytes" ? RequiredBytes : 0);
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
