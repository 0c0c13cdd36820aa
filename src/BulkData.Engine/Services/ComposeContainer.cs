using System.Text.Json;

namespace BulkData.Engine.Services;

/// <summary>One container of a compose project, as <c>docker compose ps --format json</c> prints it.</summary>
public sealed class ComposeContainer
{
    public string Name { get; init; } = string.Empty;

    public string Service { get; init; } = string.Empty;

    public string Project { get; init; } = string.Empty;

    /// <summary>Docker's state word: running, exited, created, paused, restarting, removing, dead.</summary>
    public string State { get; init; } = string.Empty;

    /// <summary>Docker's human status, e.g. "Up 2 hours" or "Exited (0) 5 seconds ago".</summary>
    public string Status { get; init; } = string.Empty;

    public string Id { get; init; } = string.Empty;

    public string Image { get; init; } = string.Empty;

    public string Health { get; init; } = string.Empty;

    public int ExitCode { get; init; }

    /// <summary>True while the container holds resources a stop would free: running, restarting or paused.</summary>
    public bool IsUp => ComposeStates.IsUp(State);
}

/// <summary>The state words of docker containers, and what they mean for stopping and starting.</summary>
internal static class ComposeStates
{
    public static bool IsUp(string? state) => state is not null
        && (state.Equals("running", StringComparison.OrdinalIgnoreCase)
            || state.Equals("restarting", StringComparison.OrdinalIgnoreCase)
            || state.Equals("paused", StringComparison.OrdinalIgnoreCase));

    /// <summary>One state for a service of several containers: up if any is up, else the first one's.</summary>
    public static string Combine(IEnumerable<ComposeContainer> containers)
    {
        string? first = null;
        foreach (var c in containers)
        {
            if (c.IsUp)
            {
                return c.State;
            }

            first ??= c.State;
        }

        return first ?? "absent";
    }
}

/// <summary>
/// Reads <c>docker compose ps --format json</c>. Compose 2.21 and later print one JSON object per line;
/// earlier versions print one JSON array. Both are accepted, and so is empty output (no containers).
/// </summary>
internal static class ComposePsParser
{
    public static IReadOnlyList<ComposeContainer> Parse(string output)
    {
        var result = new List<ComposeContainer>();
        string text = output.Trim();
        if (text.Length == 0)
        {
            return result;
        }

        try
        {
            if (text[0] == '[')
            {
                using var doc = JsonDocument.Parse(text);
                AddAll(doc.RootElement, result);
                return result;
            }

            int lineNumber = 0;
            foreach (var raw in text.Split('\n'))
            {
                lineNumber++;
                string line = raw.Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                using var doc = JsonDocument.Parse(line);
                AddAll(doc.RootElement, result);
            }
        }
        catch (JsonException ex)
        {
            string sample = text.Length > 200 ? text[..200] + "..." : text;
            throw new BulkDataException(BulkErrorKind.InvalidData, $"docker compose ps --format json printed something that is not JSON ({ex.Message}): {sample}", inner: ex);
        }

        return result;
    }

    private static void AddAll(JsonElement element, List<ComposeContainer> result)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                AddAll(item, result);
            }

            return;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new BulkDataException(BulkErrorKind.InvalidData, $"docker compose ps --format json printed a {element.ValueKind} where a container object was expected.");
        }

        result.Add(new ComposeContainer
        {
            Name = Text(element, "Name") ?? Text(element, "Names") ?? string.Empty,
            Service = Text(element, "Service") ?? string.Empty,
            Project = Text(element, "Project") ?? string.Empty,
            State = (Text(element, "State") ?? string.Empty).ToLowerInvariant(),
            Status = Text(element, "Status") ?? string.Empty,
            Id = Text(element, "ID") ?? string.Empty,
            Image = Text(element, "Image") ?? string.Empty,
            Health = Text(element, "Health") ?? string.Empty,
            ExitCode = element.TryGetProperty("ExitCode", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : 0,
        });
    }

    private static string? Text(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
