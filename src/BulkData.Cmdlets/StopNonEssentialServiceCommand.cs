using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.Services;

namespace BulkData.Cmdlets;

/// <summary>Stops the services of a docker compose project that would fight a bulk import.</summary>
[Cmdlet(VerbsLifecycle.Stop, "NonEssentialService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Keep")]
[OutputType(typeof(ServiceState))]
public sealed class StopNonEssentialServiceCommand : BulkCmdlet
{
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProjectDirectory { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ComposeFile { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProjectName { get; set; }

    [Parameter(ParameterSetName = "Keep")]
    [AllowEmptyCollection]
    [ArgumentCompleter(typeof(ComposeServiceCompleter))]
    public string[] Keep { get; set; } = NonEssentialServices.DefaultKeep.ToArray();

    [Parameter(ParameterSetName = "Service", Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ComposeServiceCompleter))]
    public string[] Service { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string DockerPath { get; set; } = "docker";

    [Parameter]
    [ValidateRange(0, 86400)]
    public int? Timeout { get; set; }

    protected override void EndProcessing()
    {
        var compose = ComposeBinding.Create(this, DockerPath, ProjectDirectory, ComposeFile, ProjectName);
        var status = RunEngine((r, _, ct) => compose.GetServicesAsync(r, ct), null);
        ServiceChange change;
        try
        {
            var plan = NonEssentialServices.PlanStop(
                status,
                ParameterSetName == "Keep" ? Keep : null,
                ParameterSetName == "Service" ? Service : null,
                compose.Project.Describe());
            foreach (var (service, reason) in plan.Skipped)
            {
                WriteVerbose($"Not stopping '{service}': {reason}.");
            }

            var approved = plan.ToStop
                .Where(s => ShouldProcess($"service '{s.Service}' of compose project '{s.Project}' ({s.State}; {string.Join(", ", s.Containers.Select(c => c.Name))})", "Stop"))
                .ToList();
            if (approved.Count == 0)
            {
                return;
            }

            change = RunEngine((r, _, ct) => NonEssentialServices.StopAsync(compose, approved, Timeout, r, ct), null);
        }
        catch (BulkDataException ex)
        {
            ThrowBulkError(ex, null);
            return;
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
