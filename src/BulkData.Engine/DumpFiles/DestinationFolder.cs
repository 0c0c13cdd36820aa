namespace BulkData.Engine.DumpFiles;

/// <summary>
/// Whether a folder can take the files of a fetch, said before any request: not under a file, not on a pseudo
/// file system (proc, sysfs, ...), not on a read-only mount. A folder that does not exist yet is judged at its
/// nearest existing parent (it is created there).
/// </summary>
internal static class DestinationFolder
{
    /// <summary>File systems that hold no files of their own (the kernel's views).</summary>
    internal static readonly HashSet<string> PseudoFileSystems = new(StringComparer.Ordinal)
    {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "pstore",
        "bpf", "configfs", "fusectl", "mqueue", "efivarfs", "binfmt_misc", "autofs", "rpc_pipefs", "nsfs", "selinuxfs",
    };

    /// <summary>Throws InvalidArgument naming what is wrong with <paramref name="destination"/> (a full path).</summary>
    public static void Check(string destination, string mountInfoPath = "/proc/self/mountinfo")
    {
        string? existing = Path.GetFullPath(destination);
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                throw new BulkDataException(
                    BulkErrorKind.InvalidArgument,
                    existing == Path.GetFullPath(destination)
                        ? $"The destination '{destination}' is a file, not a folder."
                        : $"The destination '{destination}' is under '{existing}', which is a file, not a folder.",
                    destination);
            }

            existing = Path.GetDirectoryName(existing);
        }

        if (existing is null || !OperatingSystem.IsLinux() || !File.Exists(mountInfoPath))
        {
            return;
        }

        var mount = MountOf(existing, File.ReadAllLines(mountInfoPath));
        if (mount is null)
        {
            return;
        }

        if (PseudoFileSystems.Contains(mount.Value.Type))
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The destination '{destination}' is on the pseudo file system '{mount.Value.Type}' (mounted at {mount.Value.Point}), which cannot hold files.", destination);
        }

        if (mount.Value.ReadOnly)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The destination '{destination}' is on a read-only file system ({mount.Value.Type} mounted read-only at {mount.Value.Point}).", destination);
        }
    }

    /// <summary>The mount (point, type, read-only) of <paramref name="path"/>: the longest mount point containing it.</summary>
    internal static (string Point, string Type, bool ReadOnly)? MountOf(string path, IEnumerable<string> mountInfoLines)
    {
        (string Point, string Type, bool ReadOnly)? best = null;
        foreach (string line in mountInfoLines)
        {
            // "36 35 98:0 /root /mnt rw,noatime master:1 - ext4 /dev/root rw,errors=continue"
            string[] f = line.Split(' ');
            int dash = Array.IndexOf(f, "-");
            if (f.Length < 6 || dash < 6 || dash + 1 >= f.Length)
            {
                continue;
            }

            string point = Unescape(f[4]);
            bool contains = point == "/" || path == point || path.StartsWith(point.TrimEnd('/') + "/", StringComparison.Ordinal);
            if (!contains || (best is not null && best.Value.Point.Length > point.Length))
            {
                continue;
            }

            best = (point, f[dash + 1], f[5].Split(',').Contains("ro"));
        }

        return best;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }

        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s.Substring(i + 1, 3).All(c => c is >= '0' and <= '7'))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }

        return sb.ToString();
    }
}
