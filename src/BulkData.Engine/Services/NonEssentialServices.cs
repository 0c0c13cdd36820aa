namespace BulkData.Engine.Services;

/// <summary>What Stop-NonEssentialService will stop, and what it leaves alone.</summary>
public sealed class StopPlan
{
    public required IReadOnlyList<ComposeServiceStatus> ToStop { get; init; }

    /// <summary>Services left alone, with the reason (kept, or not running).</summary>
    public required IReadOnlyList<(string Service, string Reason)> Skipped { get; init; }
}

/// <summary>The outcome of a stop or a start: the services that changed, and one error per service that did not.</summary>
public sealed class ServiceChange
{
    public List<ServiceState> Changed { get; } = new();

    public List<BulkDataException> Failures { get; } = new();
}

/// <summary>
/// The rules for stopping what would fight a bulk import and starting exactly that again:
/// every running service but the kept ones (or exactly the named ones) is stopped with one
/// <c>docker compose stop</c>; afterwards each one's state is read back, and a service still up is an error
/// that names it.
/// </summary>
public static class NonEssentialServices
{
    /// <summary>The services kept running by default: the database and the bulk-data service itself.</summary>
    public static readonly IReadOnlyList<string> DefaultKeep = new[] { "cl-postgresql", "cl-bulk-data" };

    /// <summary>
    /// Chooses what to stop. With <paramref name="services"/> exactly those (each must be a service of the
    /// project; one not up is skipped), otherwise every service that is up except those in <paramref name="keep"/>.
    /// </summary>
    public static StopPlan PlanStop(IReadOnlyDictionary<string, ComposeServiceStatus> status, IEnumerable<string>? keep, IEnumerable<string>? services, string projectDescription)
    {
        var toStop = new List<ComposeServiceStatus>();
        var skipped = new List<(string, string)>();
        var named = services?.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct(StringComparer.Ordinal).ToList();
        if (named is { Count: > 0 })
        {
            var unknown = named.Where(s => !status.ContainsKey(s)).ToList();
            if (unknown.Count > 0)
            {
                throw new BulkDataException(
                    BulkErrorKind.ObjectNotFound,
                    $"No such service in {projectDescription}: {string.Join(", ", unknown)} (its services with containers: {string.Join(", ", status.Keys.OrderBy(k => k, StringComparer.Ordinal))}).",
                    string.Join(",", unknown));
            }

            foreach (var name in named)
            {
                var s = status[name];
                if (s.IsUp)
                {
                    toStop.Add(s);
                }
                else
                {
                    skipped.Add((name, $"already {s.State}"));
                }
            }
        }
        else
        {
            var kept = new HashSet<string>(keep ?? DefaultKeep, StringComparer.Ordinal);
            foreach (var s in status.Values.OrderBy(v => v.Service, StringComparer.Ordinal))
            {
                if (kept.Contains(s.Service))
                {
                    skipped.Add((s.Service, $"kept ({s.State})"));
                }
                else if (!s.IsUp)
                {
                    skipped.Add((s.Service, $"already {s.State}"));
                }
                else
                {
                    toStop.Add(s);
                }
            }
        }

        return new StopPlan { ToStop = toStop, Skipped = skipped };
    }

    /// <summary>Stops <paramref name="services"/> with one <c>docker compose stop</c> and reads back each one's state.</summary>
    public static async Task<ServiceChange> StopAsync(DockerCompose compose, IReadOnlyList<ComposeServiceStatus> services, int? timeoutSeconds, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var change = new ServiceChange();
        if (services.Count == 0)
        {
            return change;
        }

        var result = await ChangeAndReadBackAsync(compose, services, Verb.Stop, names => compose.StopAsync(names, timeoutSeconds, reporter, cancellationToken), change, reporter, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded && change.Failures.Count == 0)
        {
            reporter.Warning($"docker compose stop exited with code {result.ExitCode}, yet every service it was asked to stop is down: {result.ErrorText}");
        }

        return change;
    }

    /// <summary>
    /// Starts exactly <paramref name="services"/> with one <c>docker compose start</c>: each must be a service
    /// of the project; one already up is left alone and not reported. Reads back each one's state.
    /// </summary>
    public static async Task<ServiceChange> StartAsync(DockerCompose compose, IReadOnlyCollection<string> services, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        var change = new ServiceChange();
        var before = await compose.GetServicesAsync(reporter, cancellationToken).ConfigureAwait(false);
        var toStart = new List<ComposeServiceStatus>();
        foreach (var name in services.Distinct(StringComparer.Ordinal))
        {
            if (!before.TryGetValue(name, out var s))
            {
                change.Failures.Add(new BulkDataException(
                    BulkErrorKind.ObjectNotFound,
                    $"No such service in {compose.Project.Describe()}: {name} (its services with containers: {string.Join(", ", before.Keys.OrderBy(k => k, StringComparer.Ordinal))}).",
                    name));
            }
            else if (s.IsUp)
            {
                reporter.Verbose($"Service '{name}' of compose project '{s.Project}' is already {s.State}: not started.");
            }
            else
            {
                toStart.Add(s);
            }
        }

        if (toStart.Count == 0)
        {
            return change;
        }

        await ChangeAndReadBackAsync(compose, toStart, Verb.Start, names => compose.StartAsync(names, reporter, cancellationToken), change, reporter, cancellationToken).ConfigureAwait(false);
        return change;
    }

    private enum Verb
    {
        Stop,
        Start,
    }

    /// <summary>
    /// Runs one <c>docker compose stop</c> or <c>start</c> for <paramref name="services"/>, reads every service's
    /// state back, and records each one that reached the wanted state, or a failure naming it that did not.
    /// </summary>
    private static async Task<CommandResult> ChangeAndReadBackAsync(DockerCompose compose, IReadOnlyCollection<ComposeServiceStatus> services, Verb verb, Func<List<string>, Task<CommandResult>> run, ServiceChange change, IBulkReporter reporter, CancellationToken cancellationToken)
    {
        bool stopping = verb == Verb.Stop;
        string word = stopping ? "stop" : "start";
        var names = services.Select(s => s.Service).ToList();
        using var progress = new ProgressReporter(reporter);
        var bar = progress.Begin(stopping ? "Stopping non-essential services" : "Starting services");
        bar.Status(string.Join(", ", names));
        var result = await run(names).ConfigureAwait(false);
        var after = await compose.GetServicesAsync(reporter, cancellationToken).ConfigureAwait(false);
        bar.Complete();
        foreach (var before in services)
        {
            string stateAfter = after.TryGetValue(before.Service, out var a) ? a.State : "absent";
            if (ComposeStates.IsUp(stateAfter) == stopping)
            {
                string why = result.Succeeded
                    ? $"docker compose {word} reported success"
                    : $"docker compose {word} failed with exit code {result.ExitCode}: {(result.ErrorText.Length > 0 ? result.ErrorText : "(nothing on standard error)")}";
                string state = stopping ? $"it is still {stateAfter}" : $"it is {stateAfter}";
                change.Failures.Add(new BulkDataException(
                    BulkErrorKind.ExternalCommandFailed,
                    $"Service '{before.Service}' of compose project '{before.Project}' did not {word}: {state} ({why}).",
                    before.Service));
                continue;
            }

            change.Changed.Add(new ServiceState
            {
                Project = before.Project,
                Service = before.Service,
                StateBefore = before.State,
                StateAfter = stateAfter,
                Containers = before.Containers.Select(c => c.Name).ToArray(),
                ProjectDirectory = compose.Project.ProjectDirectory,
                ComposeFile = compose.Project.ComposeFiles.ToArray(),
            });
        }

        return result;
    }
}
