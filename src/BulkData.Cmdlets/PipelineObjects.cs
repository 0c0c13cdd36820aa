using System.Collections;
using System.Management.Automation;
using BulkData.Engine;
using BulkData.Engine.DumpFiles;
using BulkData.Engine.Import;
using BulkData.Engine.Manifest;

namespace BulkData.Cmdlets;

/// <summary>
/// Objects from anywhere: a manifest entry or a fetched file that went through Export-Clixml/Import-Clixml,
/// Start-Job/Receive-Job or remoting (a Deserialized.* property bag), a [pscustomobject] or a hashtable with the
/// right property names. Read by property name; a missing required property is an error that names it.
/// </summary>
internal static class PipelineObjects
{
    /// <summary>The value of <paramref name="name"/> on a property bag (PSObject or dictionary), or null when absent.</summary>
    public static bool TryGet(object bag, string name, out object? value)
    {
        if (bag is IDictionary dict)
        {
            foreach (DictionaryEntry e in dict)
            {
                if (string.Equals(e.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                {
                    value = Unwrap(e.Value);
                    return true;
                }
            }

            value = null;
            return false;
        }

        var property = PSObject.AsPSObject(bag).Properties[name];
        if (property is null)
        {
            value = null;
            return false;
        }

        value = Unwrap(property.Value);
        return true;
    }

    public static ManifestEntry ToManifestEntry(object input)
    {
        object o = Unwrap(input)!;
        if (o is ManifestEntry entry)
        {
            return entry;
        }

        if (o is string or ValueType)
        {
            throw new ArgumentException($"Cannot use the {o.GetType().Name} '{o}' as a manifest entry: give the objects of Get-BulkManifest, or objects with the properties Key and Size (and Bucket, Region, EndpointUrl, ETag when not the public bucket's).");
        }

        var bag = input is PSObject ? input : o;
        string key = Required<string>(bag, "Key", "manifest entry");
        long size = Required<long>(bag, "Size", "manifest entry");
        return ManifestEntry.FromProperties(
            key,
            size,
            Optional<string>(bag, "Bucket"),
            Optional<string>(bag, "Region"),
            Optional<string>(bag, "EndpointUrl"),
            Optional<string>(bag, "ETag"),
            Optional<DateTime?>(bag, "LastModified"),
            Optional<string>(bag, "Dataset"),
            Optional<DateTime?>(bag, "DumpDate"),
            Optional<bool>(bag, "IsStub"));
    }

    /// <summary>Reads a fetched file's property bag (a deserialized BulkFile or FileInfo, a [pscustomobject] with Path); false when it has no Path.</summary>
    public static bool TryBulkFile(object bag, out string path, out string? dataset, out string? etag, out EntryKind? kind, out string? state, out string? error)
    {
        path = string.Empty;
        dataset = etag = state = error = null;
        kind = null;
        if (!TryGet(bag, "Path", out var p) && !TryGet(bag, "FullName", out p))
        {
            return false;
        }

        path = Convert<string>(p, "Path", "file") ?? throw new ArgumentException("The input object's Path property is empty: an import input needs the file's path.");
        dataset = Optional<string>(bag, "Dataset");
        etag = Optional<string>(bag, "ETag");
        state = Optional<string>(bag, "State");
        error = Optional<string>(bag, "Error");
        string? k = Optional<string>(bag, "Kind");
        kind = Enum.TryParse<EntryKind>(k, ignoreCase: true, out var parsed) ? parsed : null;
        return true;
    }

    private static T Required<T>(object bag, string name, string what)
    {
        if (!TryGet(bag, name, out var value) || value is null || (value is string s && s.Length == 0))
        {
            string has = bag is IDictionary d
                ? string.Join(", ", d.Keys.Cast<object>())
                : string.Join(", ", PSObject.AsPSObject(bag).Properties.Select(p => p.Name));
            throw new ArgumentException($"The input object has no '{name}' property, which a {what} needs (its properties: {(has.Length == 0 ? "none" : has)}).");
        }

        return Convert<T>(value, name, what)!;
    }

    private static T? Optional<T>(object bag, string name)
        => TryGet(bag, name, out var value) && value is not null && !(value is string s && s.Length == 0) ? Convert<T>(value, name, "input object") : default;

    private static T? Convert<T>(object? value, string name, string what)
    {
        try
        {
            return LanguagePrimitives.ConvertTo<T>(value);
        }
        catch (PSInvalidCastException ex)
        {
            throw new ArgumentException($"The '{name}' property of the {what} is not a {Nullable.GetUnderlyingType(typeof(T))?.Name ?? typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private static object? Unwrap(object? o) => o is PSObject ps && ps.BaseObject is not PSCustomObject ? ps.BaseObject : o;
}

/// <summary>Binds manifest entries from anywhere (see <see cref="PipelineObjects"/>) to a ManifestEntry[] parameter.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class ManifestEntryTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        object? data = inputData is PSObject ps && ps.BaseObject is not PSCustomObject ? ps.BaseObject : inputData;
        if (data is null || data is ManifestEntry[])
        {
            return data;
        }

        try
        {
            if (data is IEnumerable list and not string and not IDictionary)
            {
                return list.Cast<object?>().Where(o => o is not null).Select(o => PipelineObjects.ToManifestEntry(o!)).ToArray();
            }

            return new[] { PipelineObjects.ToManifestEntry(inputData!) };
        }
        catch (Exception ex) when (ex is ArgumentException or BulkDataException)
        {
            throw new ArgumentTransformationMetadataException(ex.Message, ex);
        }
    }
}
