using System.Management.Automation;
using BulkData.Engine.Services;

namespace BulkData.Cmdlets;

/// <summary>Turns the compose parameters of a cmdlet into a compose client, with paths resolved against the current location.</summary>
internal static class ComposeBinding
{
    public static DockerCompose Create(PSCmdlet cmdlet, string? dockerPath, string? projectDirectory, string[]? composeFile, string? projectName)
    {
        string Resolve(string path) => cmdlet.GetUnresolvedProviderPathFromPSPath(path);

        string docker = string.IsNullOrWhiteSpace(dockerPath) ? "docker" : dockerPath;
        if (docker.Contains('/') || docker.Contains('\\'))
        {
            docker = Resolve(docker);
        }

        var project = new ComposeProject(
            string.IsNullOrWhiteSpace(projectDirectory) ? null : Resolve(projectDirectory),
            composeFile?.Where(f => !string.IsNullOrWhiteSpace(f)).Select(Resolve),
            projectName,
            cmdlet.SessionState.Path.CurrentFileSystemLocation.ProviderPath);
        return new DockerCompose(docker, project);
    }
}
