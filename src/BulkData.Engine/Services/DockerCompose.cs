using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace BulkData.Engine.Services;

/// <summary>What a docker command printed and returned.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last lines of standard error, for messages.</summary>
    public string ErrorText
    {
        get
        {
            string text = StandardError.Trim();
            return text.Length <= 2000 ? text : "..." + text[^2000..];
        }
    }
}

/// <summary>
/// A docker compose client: runs the docker program with <c>compose</c>, the project options and a command,
/// and reads what it prints. Every failure is a <see cref="BulkDataException"/> naming the project and the
/// service, with docker's own standard error.
/// </summary>
public sealed class DockerCompose
{
    public DockerCompose(string? dockerPath, ComposeProject project)
    {
        DockerPath = string.IsNullOrWhiteSpace(dockerPath) ? "docker" : dockerPath;
        Project = project;
    }

    /// <summary>The docker program: a path, or a name looked up on PATH.</summary>
    public string DockerPath { get; }

    public ComposeProject Project { get; }

    /// <summary>Runs <c>docker compose [project options] args...</c> and returns what it printed, whatever its exit code.</summary>
    public async Task<CommandResult> InvokeAsync(IEnumerable<string> arguments, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var args = new List<string> { "compose" };
        args.AddRange(Project.Arguments());
        args.AddRange(arguments);
        reporter.Verbose($"{DockerPath} {string.Join(' ', args.Select(Quote))}");

        var info = new ProcessStartInfo(DockerPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Project.WorkingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or FileNotFoundException)
        {
            throw new BulkDataException(
                BulkErrorKind.ExternalCommandFailed,
                $"The docker program '{DockerPath}' could not be started ({ex.Message}), so {Project.Describe()} cannot be managed. Install Docker with the compose plugin, or pass its path with -DockerPath.",
                DockerPath,
                ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It has exited already.
                }

                throw;
            }

            return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }

    /// <summary>
    /// The project's containers from <c>docker compose ps --format json</c> (with <c>--all</c>: stopped ones too).
    /// </summary>
    public async Task<IReadOnlyList<ComposeContainer>> ListAsync(bool all, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var args = new List<string> { "ps", "--format", "json" };
        if (all)
        {
            args.Add("--all");
        }

        var result = await InvokeAsync(args, reporter, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw Failure($"docker compose ps failed for {Project.Describe()}", result, target: Project.ProjectName ?? Project.ProjectDirectory);
        }

        return ComposePsParser.Parse(result.StandardOutput);
    }

    /// <summary>
    /// The project's services with their containers (<c>ps --all</c>), by service name. Throws when the
    /// project has no containers at all: compose then knows no such project (or it was never started).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, ComposeServiceStatus>> GetServicesAsync(IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var containers = await ListAsync(all: true, reporter, cancellationToken).ConfigureAwait(false);
        if (containers.Count == 0)
        {
            throw new BulkDataException(
                BulkErrorKind.ObjectNotFound,
                $"No containers were found for {Project.Describe()}: docker compose ps --all listed none. Check -ProjectName, -ProjectDirectory and -ComposeFile (is the project up?).",
                Project.ProjectName ?? Project.ProjectDirectory ?? Project.WorkingDirectory);
        }

        return ComposeServiceStatus.Group(containers);
    }

    /// <summary>Runs <c>docker compose stop [--timeout N] services...</c>; returns what it printed.</summary>
    public Task<CommandResult> StopAsync(IReadOnlyCollection<string> services, int? timeoutSeconds, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var args = new List<string> { "stop" };
        if (timeoutSeconds is int t)
        {
            args.Add("--timeout");
            args.Add(t.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        args.AddRange(services);
        return InvokeAsync(args, reporter, cancellationToken);
    }

    /// <summary>Runs <c>docker compose start services...</c>; returns what it printed.</summary>
    public Task<CommandResult> StartAsync(IReadOnlyCollection<string> services, IBulkReporter reporter, CancellationToken cancellationToken)
        => InvokeAsync(new[] { "start" }.Concat(services), reporter, cancellationToken);

    internal BulkDataException Failure(string what, CommandResult result, string? target)
    {
        string detail = result.ErrorText.Length > 0 ? result.ErrorText : "(it printed nothing on standard error)";
        return new BulkDataException(BulkErrorKind.ExternalCommandFailed, $"{what} (exit code {result.ExitCode}): {detail}", target);
    }

    private static string Quote(string a) => a.Length > 0 && a.All(ch => char.IsLetterOrDigit(ch) || "-_./=:@,".Contains(ch)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}

/// <summary>A service of a compose project and its containers.</summary>
public sealed class ComposeServiceStatus
{
    public required string Project { get; init; }

    public required string Service { get; init; }

    public required IReadOnlyList<ComposeContainer> Containers { get; init; }

    /// <summary>The service's state: up (running, restarting, paused) if any container is, else the first container's.</summary>
    public string State => ComposeStates.Combine(Containers);

    public bool IsUp => ComposeStates.IsUp(State);

    public static IReadOnlyDictionary<string, ComposeServiceStatus> Group(IEnumerable<ComposeContainer> containers)
        => containers
            .Where(c => c.Service.Length > 0)
            .GroupBy(c => c.Service, StringComparer.Ordinal)
            .ToDictionary(
                g => g.Key,
                g => new ComposeServiceStatus { Project = g.First().Project, Service = g.Key, Containers = g.ToList() },
                StringComparer.Ordinal);
}
