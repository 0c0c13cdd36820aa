using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace BulkData.TestKit;

/// <summary>
/// The stand-in for the docker program (the only stand-in of this project: no Docker engine runs on the test
/// machines). It answers the docker compose commands BulkData uses, with the real CLI's arguments, output
/// shapes, exit codes and messages, and keeps the containers' states in a JSON file:
///   docker compose [--project-directory d] [-f file]... [-p name] ps [--format json|table] [--all|-a] [svc...]
///   docker compose ... up [-d] [svc...]           creates and starts services (and their dependencies)
///   docker compose ... stop [-t N] [svc...]
///   docker compose ... start [svc...]
///   docker compose ... run [--rm] [--no-deps] [-e NAME[=value]]... [-T] svc [cmd...]
///                                                 starts the service's dependencies again unless --no-deps
///   docker compose ... down
/// Environment:
///   BULKDATA_DOCKER_STATE        the state file (required)
///   BULKDATA_DOCKER_PS_FORMAT    lines (compose 2.21+, one object per line; default) or array (older compose)
///   BULKDATA_DOCKER_UNSTOPPABLE  services (comma-separated) whose containers will not stop
///   BULKDATA_DOCKER_RUN_EXIT     the exit code of `compose run` (default 0)
///   BULKDATA_DOCKER_LOG          a file to which every invocation is appended as one JSON line
/// </summary>
public static class DockerStandIn
{
    // Like Go's encoder: quotes as \", non-ASCII as UTF-8.
    private static readonly JsonSerializerOptions GoJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] DefaultFiles = { "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml" };

    public static int Run(string[] args)
    {
        Log(args);
        if (args.Length == 0)
        {
            Console.Error.WriteLine("Usage:  docker [OPTIONS] COMMAND");
            return 1;
        }

        if (args[0] is "--version" or "version")
        {
            Console.WriteLine("Docker version 27.0.0-standin, build standin");
            return 0;
        }

        if (args[0] != "compose")
        {
            Console.Error.WriteLine($"docker: unknown command: docker {args[0]}\n\nRun 'docker --help' for more information");
            return 1;
        }

        try
        {
            return Compose(args.Skip(1).ToList());
        }
        catch (ComposeError e)
        {
            Console.Error.WriteLine(e.Message);
            return e.ExitCode;
        }
    }

    /// <summary>A YAML document as JSON (scalars as strings), for tests that read `docker-compose config`.</summary>
    public static string YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        static JsonNode? Convert(YamlNode node) => node switch
        {
            YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, Convert(kv.Value)))),
            YamlSequenceNode q => new JsonArray(q.Children.Select(Convert).ToArray()),
            YamlScalarNode s => JsonValue.Create(s.Value),
            _ => null,
        };
        return stream.Documents.Count == 0 ? "null" : Convert(stream.Documents[0].RootNode)!.ToJsonString(GoJson);
    }

    private static int Compose(List<string> args)
    {
        string? projectDirectory = null, projectName = null;
        var files = new List<string>();
        int i = 0;
        for (; i < args.Count; i++)
        {
            string a = args[i];
            if (TakeValue(args, ref i, "--project-directory", null, out var v))
            {
                projectDirectory = v;
            }
            else if (TakeValue(args, ref i, "--file", "-f", out v))
            {
                files.Add(v!);
            }
            else if (TakeValue(args, ref i, "--project-name", "-p", out v))
            {
                projectName = v;
            }
            else if (a.StartsWith('-'))
            {
                throw new ComposeError($"unknown flag: {a}", 1);
            }
            else
            {
                break;
            }
        }

        if (i >= args.Count)
        {
            Console.WriteLine("Usage:  docker compose [OPTIONS] COMMAND");
            return 0;
        }

        string command = args[i];
        var rest = args.Skip(i + 1).ToList();
        if (command == "version")
        {
            Console.WriteLine("Docker Compose version v2.29.0-standin");
            return 0;
        }

        var state = StateFile.Load();
        var project = ResolveProject(projectDirectory, files, projectName, state);
        int code = command switch
        {
            "ps" => Ps(project, state, rest),
            "up" => Up(project, state, rest),
            "stop" => Stop(project, state, rest),
            "start" => Start(project, state, rest),
            "run" => RunService(project, state, rest),
            "down" => Down(project, state),
            _ => throw new ComposeError($"unknown docker command: \"compose {command}\"", 1),
        };
        state.Save();
        return code;
    }

    private static bool TakeValue(List<string> args, ref int i, string longName, string? shortName, out string? value)
    {
        string a = args[i];
        value = null;
        if (a == longName || (shortName is not null && a == shortName))
        {
            if (i + 1 >= args.Count)
            {
                throw new ComposeError($"flag needs an argument: {a}", 1);
            }

            value = args[++i];
            return true;
        }

        if (a.StartsWith(longName + "=", StringComparison.Ordinal))
        {
            value = a[(longName.Length + 1)..];
            return true;
        }

        return false;
    }

    // ---- the project -------------------------------------------------------------------------------------

    private sealed class Project
    {
        public required string Name { get; init; }

        public required string WorkingDir { get; init; }

        public required List<string> ConfigFiles { get; init; }

        /// <summary>Services of the compose files and their direct dependencies; null when only -p named the project.</summary>
        public Dictionary<string, List<string>>? Services { get; init; }

        public Dictionary<string, string> Images { get; init; } = new();

        /// <summary>Services with profiles: `up` without service names leaves them out, as compose does.</summary>
        public HashSet<string> Profiled { get; init; } = new();

        public bool HasService(string name, StateFile state)
            => Services is not null ? Services.ContainsKey(name) : state.Containers(Name).Any(c => (string?)c["service"] == name);

        public List<string> DependenciesOf(string service)
        {
            var result = new List<string>();
            void Visit(string s)
            {
                if (Services is null || !Services.TryGetValue(s, out var deps))
                {
                    return;
                }

                foreach (var d in deps)
                {
                    if (!result.Contains(d))
                    {
                        Visit(d);
                        result.Add(d);
                    }
                }
            }

            Visit(service);
            return result;
        }
    }

    private static Project ResolveProject(string? projectDirectory, List<string> files, string? projectName, StateFile state)
    {
        string cwd = Environment.CurrentDirectory;
        var configFiles = new List<string>();
        if (files.Count == 0 && Environment.GetEnvironmentVariable("COMPOSE_FILE") is { Length: > 0 } envFiles)
        {
            files.AddRange(envFiles.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        if (files.Count > 0)
        {
            foreach (var f in files)
            {
                string full = Path.GetFullPath(f, cwd);
                if (!File.Exists(full))
                {
                    throw new ComposeError($"open {full}: no such file or directory", 1);
                }

                configFiles.Add(full);
            }
        }
        else
        {
            string? dir = projectDirectory is null ? cwd : Path.GetFullPath(projectDirectory, cwd);
            while (dir is not null && configFiles.Count == 0)
            {
                var found = DefaultFiles.Select(n => Path.Combine(dir, n)).FirstOrDefault(File.Exists);
                if (found is not null)
                {
                    configFiles.Add(found);
                }

                dir = projectDirectory is null ? Path.GetDirectoryName(dir) : null;
            }
        }

        projectName ??= Environment.GetEnvironmentVariable("COMPOSE_PROJECT_NAME") is { Length: > 0 } envName ? envName : null;
        if (configFiles.Count == 0)
        {
            if (projectName is null)
            {
                throw new ComposeError("no configuration file provided: not found", 14);
            }

            // Compose works on an existing project's containers by name alone.
            string name = Normalize(projectName);
            return new Project { Name = name, WorkingDir = state.WorkingDir(name) ?? cwd, ConfigFiles = new List<string>(), Services = null };
        }

        var services = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        var profiled = new HashSet<string>(StringComparer.Ordinal);
        string? fileName = null;
        foreach (var file in configFiles)
        {
            var yaml = new YamlStream();
            try
            {
                using var reader = new StreamReader(file);
                yaml.Load(reader);
            }
            catch (Exception ex) when (ex is YamlDotNet.Core.YamlException)
            {
                throw new ComposeError($"yaml: {ex.Message}", 15);
            }

            if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            {
                throw new ComposeError($"empty compose file {file}", 15);
            }

            if (root.Children.TryGetValue(new YamlScalarNode("name"), out var n) && n is YamlScalarNode ns)
            {
                fileName = ns.Value;
            }

            if (!root.Children.TryGetValue(new YamlScalarNode("services"), out var s) || s is not YamlMappingNode sm)
            {
                continue;
            }

            foreach (var (key, value) in sm.Children)
            {
                string service = ((YamlScalarNode)key).Value!;
                if (!services.TryGetValue(service, out var deps))
                {
                    services[service] = deps = new List<string>();
                }

                if (value is not YamlMappingNode body)
                {
                    continue;
                }

                if (body.Children.TryGetValue(new YamlScalarNode("profiles"), out var prof) && prof is YamlSequenceNode { Children.Count: > 0 })
                {
                    profiled.Add(service);
                }

                if (body.Children.TryGetValue(new YamlScalarNode("image"), out var img) && img is YamlScalarNode imgs)
                {
                    images[service] = imgs.Value!;
                }

                if (body.Children.TryGetValue(new YamlScalarNode("depends_on"), out var d))
                {
                    IEnumerable<string> names = d switch
                    {
                        YamlSequenceNode seq => seq.Children.OfType<YamlScalarNode>().Select(x => x.Value!),
                        YamlMappingNode map => map.Children.Keys.OfType<YamlScalarNode>().Select(x => x.Value!),
                        _ => Array.Empty<string>(),
                    };
                    foreach (var dep in names.Where(x => !deps.Contains(x)))
                    {
                        deps.Add(dep);
                    }
                }
            }
        }

        foreach (var (service, deps) in services)
        {
            foreach (var dep in deps.Where(d => !services.ContainsKey(d)))
            {
                throw new ComposeError($"service \"{service}\" depends on undefined service \"{dep}\": invalid compose project", 15);
            }
        }

        string workingDir = projectDirectory is not null ? Path.GetFullPath(projectDirectory, cwd) : Path.GetDirectoryName(configFiles[0])!;
        string projectNameFinal = Normalize(projectName ?? fileName ?? Path.GetFileName(workingDir.TrimEnd('/')));
        return new Project { Name = projectNameFinal, WorkingDir = workingDir, ConfigFiles = configFiles, Services = services, Images = images, Profiled = profiled };
    }

    private static string Normalize(string name) => Regex.Replace(name.ToLowerInvariant(), "[^a-z0-9_-]", string.Empty);

    private static void RequireServices(Project project, StateFile state, IEnumerable<string> services)
    {
        foreach (var s in services)
        {
            if (!project.HasService(s, state))
            {
                throw new ComposeError($"no such service: {s}", 1);
            }
        }
    }

    // ---- commands --------------------------------------------------------------------------------------

    private static int Ps(Project project, StateFile state, List<string> args)
    {
        bool all = false, quiet = false;
        string format = "table";
        var services = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] is "-a" or "--all")
            {
                all = true;
            }
            else if (args[i] is "-q" or "--quiet")
            {
                quiet = true;
            }
            else if (TakeValue(args, ref i, "--format", null, out var f))
            {
                format = f!;
            }
            else if (args[i].StartsWith('-'))
            {
                throw new ComposeError($"unknown flag: {args[i]}", 1);
            }
            else
            {
                services.Add(args[i]);
            }
        }

        RequireServices(project, state, services);
        var containers = state.Containers(project.Name)
            .Where(c => all || (string?)c["state"] == "running")
            .Where(c => services.Count == 0 || services.Contains((string)c["service"]!))
            .OrderBy(c => (string?)c["name"], StringComparer.Ordinal)
            .ToList();
        if (quiet)
        {
            containers.ForEach(c => Console.WriteLine((string?)c["id"]));
            return 0;
        }

        if (format == "json")
        {
            if (Environment.GetEnvironmentVariable("BULKDATA_DOCKER_PS_FORMAT") == "array")
            {
                var array = new JsonArray(containers.Select(c => (JsonNode)OldShape(c, project)).ToArray());
                Console.WriteLine(array.ToJsonString(GoJson));
            }
            else
            {
                foreach (var c in containers)
                {
                    Console.WriteLine(NewShape(c, project).ToJsonString(GoJson));
                }
            }

            return 0;
        }

        Console.WriteLine($"{"NAME",-40} {"IMAGE",-24} {"SERVICE",-24} {"STATUS",-24}");
        foreach (var c in containers)
        {
            Console.WriteLine($"{(string?)c["name"],-40} {(string?)c["image"],-24} {(string?)c["service"],-24} {Status(c),-24}");
        }

        return 0;
    }

    /// <summary>compose 2.21 and later: the docker ps formatter's fields, one object per line.</summary>
    private static JsonObject NewShape(JsonNode c, Project project)
    {
        string name = (string)c["name"]!;
        return new JsonObject
        {
            ["Command"] = "\"docker-entrypoint.s…\"",
            ["CreatedAt"] = (string?)c["createdAt"],
            ["ExitCode"] = (int)c["exitCode"]!,
            ["Health"] = string.Empty,
            ["ID"] = (string?)c["id"],
            ["Image"] = (string?)c["image"],
            ["Labels"] = $"com.docker.compose.project={project.Name},com.docker.compose.service={(string?)c["service"]},com.docker.compose.oneoff=False,com.docker.compose.project.working_dir={project.WorkingDir}",
            ["LocalVolumes"] = "0",
            ["Mounts"] = string.Empty,
            ["Name"] = name,
            ["Names"] = name,
            ["Networks"] = $"{project.Name}_default",
            ["Ports"] = string.Empty,
            ["Project"] = project.Name,
            ["Publishers"] = new JsonArray(),
            ["RunningFor"] = "About a minute ago",
            ["Service"] = (string?)c["service"],
            ["Size"] = "0B",
            ["State"] = (string?)c["state"],
            ["Status"] = Status(c),
        };
    }

    /// <summary>compose before 2.21: one JSON array of compose's own container summary.</summary>
    private static JsonObject OldShape(JsonNode c, Project project) => new()
    {
        ["ID"] = (string?)c["id"],
        ["Name"] = (string?)c["name"],
        ["Image"] = (string?)c["image"],
        ["Command"] = "\"docker-entrypoint.sh postgres\"",
        ["Project"] = project.Name,
        ["Service"] = (string?)c["service"],
        ["Created"] = 1700000000,
        ["State"] = (string?)c["state"],
        ["Status"] = Status(c),
        ["Health"] = string.Empty,
        ["ExitCode"] = (int)c["exitCode"]!,
        ["Publishers"] = null,
    };

    private static string Status(JsonNode c) => (string?)c["state"] switch
    {
        "running" => "Up About a minute",
        "created" => "Created",
        _ => $"Exited ({(int)c["exitCode"]!}) 5 seconds ago",
    };

    private static int Up(Project project, StateFile state, List<string> args)
    {
        var services = args.Where(a => !a.StartsWith('-')).ToList();
        if (project.Services is null)
        {
            throw new ComposeError("no configuration file provided: not found", 14);
        }

        RequireServices(project, state, services);
        if (services.Count == 0)
        {
            services = project.Services.Keys.Where(s => !project.Profiled.Contains(s)).ToList();
        }

        var order = new List<string>();
        foreach (var s in services)
        {
            foreach (var d in project.DependenciesOf(s).Append(s))
            {
                if (!order.Contains(d))
                {
                    order.Add(d);
                }
            }
        }

        state.SetProject(project.Name, project.WorkingDir, project.ConfigFiles);
        foreach (var s in order)
        {
            BringUp(project, state, s);
        }

        return 0;
    }

    private static void BringUp(Project project, StateFile state, string service)
    {
        var containers = state.Containers(project.Name).Where(c => (string?)c["service"] == service).ToList();
        if (containers.Count == 0)
        {
            var c = state.AddContainer(project.Name, service, project.Images.GetValueOrDefault(service, $"{project.Name}-{service}"));
            Console.Error.WriteLine($" Container {(string?)c["name"]}  Created");
            containers.Add(c);
        }

        foreach (var c in containers)
        {
            if ((string?)c["state"] == "running")
            {
                Console.Error.WriteLine($" Container {(string?)c["name"]}  Running");
            }
            else
            {
                Console.Error.WriteLine($" Container {(string?)c["name"]}  Starting");
                c["state"] = "running";
                c["exitCode"] = 0;
                Console.Error.WriteLine($" Container {(string?)c["name"]}  Started");
            }
        }
    }

    private static int Stop(Project project, StateFile state, List<string> args)
    {
        var services = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (TakeValue(args, ref i, "--timeout", "-t", out _))
            {
                continue;
            }

            if (args[i].StartsWith('-'))
            {
                throw new ComposeError($"unknown flag: {args[i]}", 1);
            }

            services.Add(args[i]);
        }

        RequireServices(project, state, services);
        var unstoppable = (Environment.GetEnvironmentVariable("BULKDATA_DOCKER_UNSTOPPABLE") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int code = 0;
        foreach (var c in state.Containers(project.Name).Where(c => services.Count == 0 || services.Contains((string)c["service"]!)))
        {
            string name = (string)c["name"]!;
            if ((string?)c["state"] != "running")
            {
                continue;
            }

            Console.Error.WriteLine($" Container {name}  Stopping");
            if (unstoppable.Contains((string)c["service"]!))
            {
                Console.Error.WriteLine($"Error response from daemon: cannot stop container: {name}: tried to kill container, but did not receive an exit event");
                code = 1;
                continue;
            }

            c["state"] = "exited";
            c["exitCode"] = 0;
            Console.Error.WriteLine($" Container {name}  Stopped");
        }

        return code;
    }

    private static int Start(Project project, StateFile state, List<string> args)
    {
        var services = args.Where(a => !a.StartsWith('-')).ToList();
        RequireServices(project, state, services);
        foreach (var s in services)
        {
            if (!state.Containers(project.Name).Any(c => (string?)c["service"] == s))
            {
                throw new ComposeError($"service \"{s}\" has no container to start", 1);
            }
        }

        foreach (var c in state.Containers(project.Name).Where(c => services.Count == 0 || services.Contains((string)c["service"]!)))
        {
            if ((string?)c["state"] == "running")
            {
                continue;
            }

            Console.Error.WriteLine($" Container {(string?)c["name"]}  Starting");
            c["state"] = "running";
            c["exitCode"] = 0;
            Console.Error.WriteLine($" Container {(string?)c["name"]}  Started");
        }

        return 0;
    }

    private static int RunService(Project project, StateFile state, List<string> args)
    {
        bool rm = false, noDeps = false;
        var env = new JsonObject();
        int i = 0;
        for (; i < args.Count && args[i].StartsWith('-'); i++)
        {
            string a = args[i];
            if (a == "--rm")
            {
                rm = true;
            }
            else if (a == "--no-deps")
            {
                noDeps = true;
            }
            else if (a is "-T" or "-d" or "--detach" or "-i" or "--interactive")
            {
            }
            else if (TakeValue(args, ref i, "--env", "-e", out var e))
            {
                // Record whether each variable reached the container, never its value.
                string name = e!.Split('=', 2)[0];
                bool hasValue = e.Contains('=') ? e.Length > name.Length + 1 : !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name));
                env[name] = hasValue;
            }
            else if (TakeValue(args, ref i, "--entrypoint", null, out _) || TakeValue(args, ref i, "--user", "-u", out _) || TakeValue(args, ref i, "--workdir", "-w", out _) || TakeValue(args, ref i, "--volume", "-v", out _) || TakeValue(args, ref i, "--name", null, out _))
            {
            }
            else
            {
                throw new ComposeError($"unknown flag: {a}", 1);
            }
        }

        if (i >= args.Count)
        {
            throw new ComposeError("\"docker compose run\" requires at least 1 argument.", 1);
        }

        if (project.Services is null)
        {
            throw new ComposeError("no configuration file provided: not found", 14);
        }

        string service = args[i];
        RequireServices(project, state, new[] { service });
        var command = args.Skip(i + 1).ToList();
        state.SetProject(project.Name, project.WorkingDir, project.ConfigFiles);
        if (!noDeps)
        {
            foreach (var dep in project.DependenciesOf(service))
            {
                BringUp(project, state, dep);
            }
        }

        string runName = $"{project.Name}-{service}-run-{Guid.NewGuid().ToString("N")[..12]}";
        Console.Error.WriteLine($" Container {runName}  Creating");
        int exit = int.TryParse(Environment.GetEnvironmentVariable("BULKDATA_DOCKER_RUN_EXIT"), out var x) ? x : 0;
        state.AddRun(new JsonObject
        {
            ["project"] = project.Name,
            ["service"] = service,
            ["container"] = runName,
            ["rm"] = rm,
            ["noDeps"] = noDeps,
            ["command"] = new JsonArray(command.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray()),
            ["env"] = env,
            ["exitCode"] = exit,
        });
        return exit;
    }

    private static int Down(Project project, StateFile state)
    {
        foreach (var c in state.Containers(project.Name).ToList())
        {
            Console.Error.WriteLine($" Container {(string?)c["name"]}  Removed");
        }

        state.RemoveProject(project.Name);
        return 0;
    }

    private static void Log(string[] args)
    {
        if (Environment.GetEnvironmentVariable("BULKDATA_DOCKER_LOG") is { Length: > 0 } log)
        {
            var line = new JsonObject
            {
                ["cwd"] = Environment.CurrentDirectory,
                ["args"] = new JsonArray(args.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            };
            File.AppendAllText(log, line.ToJsonString() + "\n", Encoding.UTF8);
        }
    }

    private sealed class ComposeError : Exception
    {
        public ComposeError(string message, int exitCode)
            : base(message) => ExitCode = exitCode;

        public int ExitCode { get; }
    }

    /// <summary>The stand-in's state: projects with their containers, and the one-off runs.</summary>
    private sealed class StateFile
    {
        private readonly string _path;
        private readonly JsonObject _root;

        private StateFile(string path, JsonObject root)
        {
            _path = path;
            _root = root;
        }

        public static StateFile Load()
        {
            string path = Environment.GetEnvironmentVariable("BULKDATA_DOCKER_STATE") is { Length: > 0 } p
                ? p
                : throw new ComposeError("docker stand-in: BULKDATA_DOCKER_STATE names no state file", 125);
            var root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : new JsonObject();
            root["projects"] ??= new JsonObject();
            root["runs"] ??= new JsonArray();
            return new StateFile(path, root);
        }

        private JsonObject Projects => _root["projects"]!.AsObject();

        public string? WorkingDir(string project) => (string?)Projects[project]?["workingDir"];

        public IEnumerable<JsonNode> Containers(string project)
            => Projects[project]?["containers"]?.AsArray().Select(n => n!) ?? Enumerable.Empty<JsonNode>();

        public void SetProject(string name, string workingDir, List<string> configFiles)
        {
            var p = Projects[name]?.AsObject();
            if (p is null)
            {
                Projects[name] = p = new JsonObject { ["containers"] = new JsonArray() };
            }

            p["workingDir"] = workingDir;
            p["configFiles"] = new JsonArray(configFiles.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray());
        }

        public JsonNode AddContainer(string project, string service, string image)
        {
            var containers = Projects[project]!["containers"]!.AsArray();
            int number = containers.Count(c => (string?)c!["service"] == service) + 1;
            var c = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString("N")[..12],
                ["name"] = $"{project}-{service}-{number}",
                ["service"] = service,
                ["number"] = number,
                ["image"] = image,
                ["state"] = "created",
                ["exitCode"] = 0,
                ["createdAt"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss +0000 UTC", CultureInfo.InvariantCulture),
            };
            containers.Add(c);
            return c;
        }

        public void AddRun(JsonObject run) => _root["runs"]!.AsArray().Add(run);

        public void RemoveProject(string name) => Projects.Remove(name);

        public void Save()
        {
            string tmp = _path + ".tmp";
            File.WriteAllText(tmp, _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(tmp, _path, overwrite: true);
        }
    }
}
