using BulkData.Engine.DumpFiles;
namespace BulkData.Engine.Transfer;

/// <summary>The answer of Test-BulkDiskSpace.</summary>
public sealed class DiskSpaceReport
{
    public required string Path { get; init; }

    /// <summary>The existing folder whose file system was measured (the path or its nearest existing parent).</summary>
    public required string MeasuredPath { get; init; }

    public required long AvailableBytes { get; init; }

    public required long RequiredBytes { get; init; }

    public required long ReserveBytes { get; init; }

    /// <summary>Bytes not counted because the files are already complete at the path.</summary>
    public long AlreadyPresentBytes { get; init; }

    public int FileCount { get; init; }

    public int FilesPresent { get; init; }

    public bool IsSufficient => AvailableBytes >= RequiredBytes + ReserveBytes;

    public long ShortfallBytes => Math.Max(0, RequiredBytes + ReserveBytes - AvailableBytes);

    /// <summary>True for a streamed import (Get-BulkManifest | Invoke-BulkImport): the files never touch local disk.</summary>
    public bool Streamed { get; init; }

    /// <summary>What the numbers mean for this mode, e.g. that a streamed import needs no local space.</summary>
    public string? Note { get; init; }
}

/// <summary>One file a plan needs room for.</summary>
public sealed record SpaceItem(string FileName, long Size, string? ETag = null);

/// <summary>The rules for how much room a fetch needs, and how much a file system has.</summary>
public static class DiskSpace
{
    /// <summary>Uncompressed size over compressed size of the real CSV exports (opinions: about 4.9).</summary>
    public const double DefaultExpansionRatio = 5.0;

    /// <summary>What a streamed import (Get-BulkManifest | Invoke-BulkImport, no -KeepDownload) needs on local disk: nothing.</summary>
    public static DiskSpaceReport Streamed(string path, IReadOnlyCollection<SpaceItem> items, long reserveBytes)
    {
        var measured = Measure(path, Array.Empty<SpaceItem>(), false, DefaultExpansionRatio, reserveBytes, 0);
        return new DiskSpaceReport
        {
            Path = measured.Path, MeasuredPath = measured.MeasuredPath, AvailableBytes = measured.AvailableBytes, RequiredBytes = 0,
            ReserveBytes = measured.ReserveBytes, FileCount = items.Count, Streamed = true,
            Note = $"streamed from the bucket into PostgreSQL: the {items.Count} file(s) ({ByteSize.Format(items.Sum(i => i.Size))}) need no local space (no partial, temporary or spool file); with -KeepDownload they need their size in that folder",
        };
    }

    /// <summary>The nearest existing folder at or above <paramref name="path"/>.</summary>
    public static string NearestExistingDirectory(string path)
    {
        string? current = System.IO.Path.GetFullPath(path);
        while (current is not null && !Directory.Exists(current))
        {
            current = System.IO.Path.GetDirectoryName(current);
        }

        return current ?? System.IO.Path.GetPathRoot(System.IO.Path.GetFullPath(path)) ?? "/";
    }

    /// <summary>Bytes available to an unprivileged user on the file system holding <paramref name="path"/> (as df's Avail).</summary>
    public static long AvailableBytes(string path)
    {
        string dir = NearestExistingDirectory(path);
        var drive = OperatingSystem.IsWindows() ? new DriveInfo(System.IO.Path.GetPathRoot(dir)!) : new DriveInfo(dir);
        return drive.AvailableFreeSpace;
    }

    /// <summary>
    /// Measures <paramref name="path"/> against the files of a plan. A file already complete at the path
    /// (same name and size, or its expanded form when extracting) is not counted; a partial the download would
    /// resume (its note names the item's ETag) counts only its missing bytes. With <paramref name="extract"/>, .bz2 files add their expected expanded size.
    /// </summary>
    public static DiskSpaceReport Measure(string path, IEnumerable<SpaceItem> items, bool extract, double expansionRatio, long reserveBytes, long extraRequiredBytes = 0)
    {
        if (expansionRatio < 1)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"The expansion ratio must be at least 1 (was {expansionRatio}).");
        }

        if (reserveBytes < 0 || extraRequiredBytes < 0)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "Byte counts cannot be negative.");
        }

        string full = System.IO.Path.GetFullPath(path);
        bool folderExists = Directory.Exists(full);
        long required = extraRequiredBytes, present = 0;
        int count = 0, presentCount = 0;
        foreach (var item in items)
        {
            count++;
            bool compressed = FetchLayout.IsCompressed(item.FileName);
            long expanded = extract && compressed ? (long)Math.Ceiling(item.Size * expansionRatio) : 0;
            string final = System.IO.Path.Combine(full, item.FileName);
            if (folderExists && extract && compressed && File.Exists(System.IO.Path.Combine(full, FetchLayout.ExpandedName(item.FileName))))
            {
                presentCount++;
                present += item.Size + expanded;
                continue;
            }

            long onDisk = 0;
            if (folderExists && File.Exists(final) && new FileInfo(final).Length == item.Size)
            {
                presentCount++;
                present += item.Size;
                required += expanded;
                continue;
            }

            if (folderExists)
            {
                // The download's own rule: a partial counts only when its note names the same ETag.
                onDisk = Math.Max(0, new PartialDownload(final).UsableLength(item.ETag, item.Size));
            }

            present += onDisk;
            required += item.Size - onDisk + expanded;
        }

        string measured = NearestExistingDirectory(full);
        return new DiskSpaceReport
        {
            Path = full,
            MeasuredPath = measured,
            AvailableBytes = AvailableBytes(measured),
            RequiredBytes = required,
            ReserveBytes = reserveBytes,
            AlreadyPresentBytes = present,
            FileCount = count,
            FilesPresent = presentCount,
        };
    }
}
