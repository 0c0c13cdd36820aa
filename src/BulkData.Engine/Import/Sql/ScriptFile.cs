namespace BulkData.Engine.Import.Sql;

/// <summary>Reads a dump's script (schema or load script), with an error that names it when it cannot.</summary>
internal static class ScriptFile
{
    public static string Read(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, $"Cannot read the {what} {path}: {e.Message}", path, e);
        }
    }
}
