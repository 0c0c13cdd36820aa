using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using BulkData.Engine;
using BulkData.Engine.Manifest;
using BulkData.Engine.Services;

namespace BulkData.Cmdlets;

/// <summary>
/// Tab completion of -Dataset and -ExcludeDataset: the publisher's dataset names (the engine's catalog), plus the
/// schema and load script of a dump.
/// </summary>
public sealed class DatasetCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = Completion.Pattern(wordToComplete);
        var names = DatasetCatalog.All.Select(p => (Name: p.Dataset, Tip: $"{p.Dataset}: the table {p.Table}"))
            .Append((Name: "schema", Tip: "schema: the dump's schema-<date>.sql"))
            .Append((Name: "load-bulk-data", Tip: "load-bulk-data: the publisher's load-bulk-data-<date>.sh"));
        return names
            .Where(n => pattern.IsMatch(n.Name))
            .DistinctBy(n => n.Name, StringComparer.OrdinalIgnoreCase)
            .OrderBy(n => n.Name, StringComparer.OrdinalIgnoreCase)
            .Select(n => new CompletionResult(n.Name, n.Name, CompletionResultType.ParameterValue, n.Tip))
            .ToList();
    }
}

/// <summary>
/// Tab completion of -Service and -Keep: the services of the compose project that the command's own
/// -DockerPath, -ProjectDirectory, -ComposeFile and -ProjectName name (docker compose ps --all). Nothing when
/// docker does not answer within a few seconds.
/// </summary>
public sealed class ComposeServiceCompleter : IArgumentCompleter
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = Completion.Pattern(wordToComplete);
        try
        {
            var path = Completion.SessionPath();
            string Resolve(string p) => path is null ? Path.GetFullPath(p) : path.GetUnresolvedProviderPathFromPSPath(p);

            var docker = Completion.Text(fakeBoundParameters, "DockerPath") ?? "docker";
            if (docker.Contains('/') || docker.Contains('\\'))
            {
                docker = Resolve(docker);
            }

            var directory = Completion.Text(fakeBoundParameters, "ProjectDirectory");
            var project = new ComposeProject(
                directory is null ? null : Resolve(directory),
                Completion.Texts(fakeBoundParameters, "ComposeFile")?.Select(Resolve),
                Completion.Text(fakeBoundParameters, "ProjectName"),
                path?.CurrentFileSystemLocation.ProviderPath ?? Environment.CurrentDirectory);
            using var timeout = new CancellationTokenSource(Patience);
            var compose = new DockerCompose(docker, project);
            var services = Task.Run(() => compose.GetServicesAsync(NullReporter.Instance, timeout.Token), timeout.Token).GetAwaiter().GetResult();
            return services.Values
                .Where(s => pattern.IsMatch(s.Service))
                .OrderBy(s => s.Service, StringComparer.Ordinal)
                .Select(s => new CompletionResult(s.Service, s.Service, CompletionResultType.ParameterValue, $"{s.Service} ({s.State}, project {s.Project})"))
                .ToList();
        }
        catch (Exception)
        {
            // Docker is missing, slow or does not know the project: no completion, no error in the prompt.
            return Array.Empty<CompletionResult>();
        }
    }
}

internal static class Completion
{
    /// <summary>
    /// The session's paths (current location, ~), read through a nested pipeline: a completer runs while the
    /// prompt's own pipeline does, where the runspace's SessionStateProxy refuses calls.
    /// </summary>
    public static PathIntrinsics? SessionPath()
    {
        try
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("$ExecutionContext.SessionState.Path");
            return ps.Invoke().FirstOrDefault()?.BaseObject as PathIntrinsics;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>What the user typed so far, as a prefix wildcard (quotes stripped).</summary>
    public static WildcardPattern Pattern(string? word)
    {
        var w = (word ?? string.Empty).Trim('\'', '"');
        return new WildcardPattern(w.EndsWith('*') ? w : w + "*", WildcardOptions.IgnoreCase);
    }

    public static string? Text(IDictionary bound, string name)
        => bound.Contains(name) && bound[name] is { } v ? (PSObject.AsPSObject(v).BaseObject as string ?? v.ToString()) : null;

    public static IEnumerable<string>? Texts(IDictionary bound, string name)
    {
        if (!bound.Contains(name) || bound[name] is not { } v)
        {
            return null;
        }

        var value = PSObject.AsPSObject(v).BaseObject;
        return value is string s ? [s] : value is IEnumerable e ? e.Cast<object>().Select(o => PSObject.AsPSObject(o).BaseObject.ToString()!).ToList() : [value.ToString()!];
    }
}
