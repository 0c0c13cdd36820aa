using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Services;

namespace BulkData.Cmdlets;

/// <summary>Starts again exactly the services Stop-NonEssentialService stopped (or those named).</summary>
[Cmdlet(VerbsLifecycle.Start, "NonEssentialService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ServiceState))]
public sealed class StartNonEssentialServiceCommand : BulkCmdlet
{
    private readonly List<(string Key, string? Name, string? Directory, string[]? Files, List<string> Services)> _groups = new();

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ComposeServiceCompleter))]
    public string[] Service { get; set; } = Array.Empty<string>();

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Project")]
    [AllowNull]
    [AllowEmptyString]
    public string? ProjectName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [AllowEmptyString]
    public string? ProjectDirectory { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [AllowEmptyCollection]
    public string[]? ComposeFile { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string DockerPath { get; set; } = "docker";

    protected override void ProcessRecord()
    {
        string key = string.Join("\u001f", ProjectName ?? string.Empty, ProjectDirectory ?? string.Empty, string.Join("\u001e", ComposeFile ?? Array.Empty<string>()));
        var group = _groups.FirstOrDefault(g => g.Key == key);
        if (group.Services is null)
        {
            group = (key, ProjectName, ProjectDirectory, ComposeFile?.ToArray(), new List<string>());
            _groups.Add(group);
        }

        foreach (var s in Service)
        {
            if (!string.IsNullOrWhiteSpace(s) && !group.Services.Contains(s))
            {
                group.Services.Add(s);
            }
        }
    }

    protected override void EndProcessing()
    {
        foreach (var group in _groups)
        {
            var compose = ComposeBinding.Create(this, DockerPath, group.Directory, group.Files, group.Name);
            var approved = group.Services
                .Where(s => ShouldProcess($"service '{s}' of {compose.Project.Describe()}", "Start"))
                .ToList();
            if (approved.Count == 0)
            {
                continue;
            }

            if (!TryRunEngine((r, _, ct) => NonEssentialServices.StartAsync(compose, approved, r, ct), group.Name ?? group.Directory, out var change))
            {
                continue;
            }

            foreach (var state in change.Changed)
            {
                WriteObject(state);
            }

            foreach (var failure in change.Failures)
            {
                WriteBulkError(failure, failure.Target);
            }
        }
    }
}
