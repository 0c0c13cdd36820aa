using BulkData.Engine.DumpFiles;
using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Manifest;
using BulkData.Engine.Transfer;

namespace BulkData.Cmdlets;

/// <summary>Downloads the files of a manifest into a folder: largest first, in parallel, resumable, verified.</summary>
[Cmdlet(VerbsLifecycle.Start, "BulkFetch", SupportsShouldProcess = true)]
[OutputType(typeof(BulkFile))]
public sealed class StartBulkFetchCommand : BulkCmdlet
{
    private readonly List<ManifestEntry> _entries = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ManifestEntryTransformation]
    public ManifestEntry[] InputObject { get; set; } = Array.Empty<ManifestEntry>();

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    [Parameter]
    public SwitchParameter Extract { get; set; }

    [Parameter]
    public SwitchParameter KeepCompressed { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter NoWait { get; set; }

    [Parameter]
    [ValidateRange(0, 1000)]
    public int RetryCount { get; set; } = 5;

    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long MinimumFreeSpace { get; set; } = FetchOptions.DefaultMinimumFreeSpace;

    [Parameter]
    public TimeSpan LowSpaceTimeout { get; set; } = FetchOptions.DefaultLowSpaceTimeout;

    [Parameter]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(2);

    [Parameter]
    [Credential]
    public System.Management.Automation.PSCredential? Credential { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProfileName { get; set; }

    protected override void BeginProcessing()
    {
        try
        {
            FetchOptions.CheckParameters(MinimumFreeSpace, LowSpaceTimeout, StallTimeout);
        }
        catch (BulkDataException ex)
        {
            ThrowBulkError(ex, null);
        }
    }

    protected override void ProcessRecord()
    {
        foreach (var entry in InputObject)
        {
            if (entry is not null)
            {
                _entries.Add(entry);
            }
        }
    }

    protected override void EndProcessing()
    {
        string destination = GetUnresolvedProviderPathFromPSPath(Destination);
        var approved = new List<ManifestEntry>();
        foreach (var entry in _entries.OrderByDescending(e => e.Size))
        {
            if (ShouldProcess($"s3://{entry.Bucket}/{entry.Key} ({ByteSize.Format(entry.Size)})", $"Download to '{destination}'{(Extract.IsPresent && entry.IsCompressed ? " and extract" : string.Empty)}"))
            {
                approved.Add(entry);
            }
        }

        if (approved.Count == 0)
        {
            return;
        }

        var credentials = Credentials.Resolve(this, Credential, ProfileName, ProfileName);
        var options = new FetchOptions
        {
            Destination = destination,
            ThrottleLimit = ThrottleLimit,
            Extract = Extract.IsPresent,
            KeepCompressed = KeepCompressed.IsPresent,
            Force = Force.IsPresent,
            NoWait = NoWait.IsPresent,
            RetryCount = RetryCount,
            MinimumFreeSpace = MinimumFreeSpace,
            LowSpaceTimeout = LowSpaceTimeout,
            StallTimeout = StallTimeout,
            Credentials = credentials,
        };

        RunEngine((reporter, emit, ct) => BulkFetcher.RunAsync(approved, options, reporter, WriteOutcomes<BulkFile>(emit, f => (object?)f.Key ?? f.Path), ct), destination);
    }
}
