namespace BulkData.Engine.DumpFiles;

/// <summary>
/// How files are laid out in a destination folder: the final name of a key, the temporary names
/// used while bytes are still arriving, and the refusal of keys that would land outside the folder.
/// </summary>
internal static class FetchLayout
{
    /// <summary>Suffix of a download in progress (resumable: the bytes on disk are a prefix of the object).</summary>
    public const string PartialSuffix = ".bulkdata-partial";

    /// <summary>Suffix of an extraction in progress (not resumable).</summary>
    public const string ExpandingSuffix = ".bulkdata-expanding";

    /// <summary>Suffix of the note beside a partial that names the ETag its bytes belong to.</summary>
    public const string PartialETagSuffix = ".bulkdata-partial.etag";

    public static string PartialPath(string finalPath) => finalPath + PartialSuffix;

    /// <summary>The note beside a partial download naming the object version (ETag) its bytes are a prefix of.</summary>
    public static string PartialETagPath(string finalPath) => finalPath + PartialETagSuffix;

    /// <summary>True for the names of this layout's temporary files.</summary>
    public static bool IsTemporaryName(string fileName)
        => fileName.EndsWith(PartialSuffix, StringComparison.Ordinal) || fileName.EndsWith(PartialETagSuffix, StringComparison.Ordinal)
           || fileName.EndsWith(ExpandingSuffix, StringComparison.Ordinal);

    public static string ExpandingPath(string finalPath) => finalPath + ExpandingSuffix;

    /// <summary>The extension of a bzip2-compressed file.</summary>
    public const string CompressedExtension = ".bz2";

    /// <summary>True when a file name or path names a bzip2-compressed file (the one place this rule is written).</summary>
    public static bool IsCompressed(string fileName) => fileName.EndsWith(CompressedExtension, StringComparison.OrdinalIgnoreCase);

    /// <summary>The name without its compression extension: <c>x.csv.bz2</c> becomes <c>x.csv</c>; other names stay.</summary>
    public static string WithoutCompression(string fileName) => IsCompressed(fileName) ? fileName[..^CompressedExtension.Length] : fileName;

    /// <summary>The name of a file once expanded: <c>x.csv.bz2</c> becomes <c>x.csv</c> (anything else gains <c>.out</c>).</summary>
    public static string ExpandedName(string fileName)
        => IsCompressed(fileName) ? WithoutCompression(fileName) : fileName + ".out";

    /// <summary>
    /// The local path for a file name inside <paramref name="destination"/>. Refuses names that are
    /// empty, absolute, carry separators or parent references, or otherwise resolve outside it.
    /// </summary>
    public static string ResolveInside(string destination, string fileName)
    {
        string root = Path.GetFullPath(destination);
        if (string.IsNullOrWhiteSpace(fileName) || fileName is "." or ".." || fileName.IndexOfAny(new[] { '/', '\\', '\0', ':' }) >= 0
            || Path.IsPathRooted(fileName) || fileName.Trim() != fileName)
        {
            throw new BulkDataException(BulkErrorKind.UnsafePath, $"The name '{fileName}' would not stay inside '{root}': refused.", fileName);
        }

        string full = Path.GetFullPath(Path.Combine(root, fileName));
        string rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSep, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new BulkDataException(BulkErrorKind.UnsafePath, $"The name '{fileName}' resolves to '{full}', outside '{root}': refused.", fileName);
        }

        return full;
    }

    /// <summary>The file name of an object key: its last segment, refused if it is not a plain name.</summary>
    public static string FileNameOfKey(string key)
    {
        // Keys are relative, '/'-separated paths: an absolute key, a drive, or a backslash is not a plain key.
        if (key.StartsWith('/') || key.Contains('\\') || (key.Length >= 2 && key[1] == ':' && char.IsAsciiLetter(key[0])))
        {
            throw new BulkDataException(BulkErrorKind.UnsafePath, $"The object key '{key}' is an absolute path or uses backslashes: refused.", key);
        }

        int slash = key.LastIndexOf('/');
        string name = slash >= 0 ? key[(slash + 1)..] : key;
        if (name.Length == 0 || name is "." or ".." || name.Contains('\\') || name.Contains('\0') || name.Contains(':'))
        {
            throw new BulkDataException(BulkErrorKind.UnsafePath, $"The object key '{key}' does not end in a plain file name: refused.", key);
        }

        // A key whose path climbs out ("a/../../x") is refused even though only its last segment is used.
        if (key.Split('/').Any(s => s == ".."))
        {
            throw new BulkDataException(BulkErrorKind.UnsafePath, $"The object key '{key}' contains '..': refused.", key);
        }

        return name;
    }

    /// <summary>Deletes a temporary file if it can; a file that cannot be deleted is left (the next run's clean-up tries again).</summary>
    public static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
