namespace BulkData.Engine.Services;

/// <summary>
/// Which docker compose project to work on, as compose's own options name it. Options left empty are not
/// passed, so compose applies its own defaults (the compose file of the working directory, the project name
/// from the file's <c>name:</c> or the project directory's name).
/// </summary>
public sealed class ComposeProject
{
    public ComposeProject(string? projectDirectory = null, IEnumerable<string>? composeFiles = null, string? projectName = null, string? workingDirectory = null)
    {
        ProjectDirectory = string.IsNullOrWhiteSpace(projectDirectory) ? null : projectDirectory;
        ComposeFiles = (composeFiles ?? Array.Empty<string>()).Where(f => !string.IsNullOrWhiteSpace(f)).ToArray();
        ProjectName = string.IsNullOrWhiteSpace(projectName) ? null : projectName;
        WorkingDirectory = string.IsNullOrWhiteSpace(workingDirectory) ? Environment.CurrentDirectory : workingDirectory;
    }

    /// <summary>--project-directory, or null for compose's default.</summary>
    public string? ProjectDirectory { get; }

    /// <summary>-f/--file, in order; empty for compose's default.</summary>
    public IReadOnlyList<string> ComposeFiles { get; }

    /// <summary>-p/--project-name, or null for compose's default.</summary>
    public string? ProjectName { get; }

    /// <summary>The folder docker runs in: where compose looks for its default files.</summary>
    public string WorkingDirectory { get; }

    /// <summary>The project options, as they go between <c>compose</c> and the compose command.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string>();
        if (ProjectDirectory is not null)
        {
            args.Add("--project-directory");
            args.Add(ProjectDirectory);
        }

        foreach (var file in ComposeFiles)
        {
            args.Add("-f");
            args.Add(file);
        }

        if (ProjectName is not null)
        {
            args.Add("-p");
            args.Add(ProjectName);
        }

        return args;
    }

    /// <summary>How messages name the project before compose has told its name.</summary>
    public string Describe()
    {
        if (ProjectName is not null)
        {
            return $"compose project '{ProjectName}'";
        }

        if (ComposeFiles.Count > 0)
        {
            return $"the compose project of {string.Join(", ", ComposeFiles.Select(f => $"'{f}'"))}";
        }

        return $"the compose project in '{ProjectDirectory ?? WorkingDirectory}'";
    }
}
