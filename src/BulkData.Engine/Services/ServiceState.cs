namespace BulkData.Engine.Services;

/// <summary>
/// A service that Stop-NonEssentialService stopped or Start-NonEssentialService started: which project,
/// which service, its state before and after. It carries the project options it was found with, so that
/// piping it to Start-NonEssentialService finds the same project.
/// </summary>
public sealed class ServiceState
{
    public required string Project { get; init; }

    public required string Service { get; init; }

    public required string StateBefore { get; init; }

    public required string StateAfter { get; init; }

    /// <summary>The service's container names.</summary>
    public IReadOnlyList<string> Containers { get; init; } = Array.Empty<string>();

    /// <summary>The --project-directory used, or null.</summary>
    public string? ProjectDirectory { get; init; }

    /// <summary>The -f files used, or empty.</summary>
    public string[] ComposeFile { get; init; } = Array.Empty<string>();

    public override string ToString() => $"{Project}/{Service}: {StateBefore} -> {StateAfter}";
}
