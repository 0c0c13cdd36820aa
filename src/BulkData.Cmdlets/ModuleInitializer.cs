using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace BulkData.Cmdlets;

/// <summary>
/// The module's loader. This assembly (the cmdlets) is the only one PowerShell loads into its default
/// AssemblyLoadContext; the engine and everything it depends on (AWSSDK.*, Npgsql, Microsoft.Extensions.*)
/// live in the module's <c>dependencies/</c> folder and load into a private context of their own. So BulkData
/// works in a session that already holds other versions of those assemblies (AWS.Tools carries AWSSDK.Core 3.7,
/// a script may have loaded Npgsql 8), and those keep working after BulkData is imported.
/// </summary>
/// <remarks>
/// PowerShell resolves type literals (<c>[BulkData.Engine.DumpFiles.BulkFile]</c>) only in the default context,
/// so the engine's public types are registered as type accelerators under their full names while the module
/// is imported; the format data and scripts keep naming them as before.
/// </remarks>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>The folder, beside this assembly, that holds the engine and its dependencies.</summary>
    public const string DependencyFolder = "dependencies";

    private const string EngineName = "BulkData.Engine";
    private static readonly object Gate = new();
    private static EngineLoadContext? _context;
    private static Assembly? _engine;
    private static string[] _accelerators = [];

    /// <summary>The private load context (for tests and diagnostics: <c>[BulkData.Cmdlets.ModuleInitializer]::LoadContext</c>).</summary>
    public static AssemblyLoadContext? LoadContext => _context;

    public void OnImport()
    {
        lock (Gate)
        {
            if (_context is null)
            {
                var folder = Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, DependencyFolder);
                var enginePath = Path.Combine(folder, EngineName + ".dll");
                if (!File.Exists(enginePath))
                {
                    throw new FileNotFoundException($"The BulkData engine is missing from the module: {enginePath}. Reinstall the module.", enginePath);
                }

                _context = new EngineLoadContext(folder);
                _engine = _context.LoadFromAssemblyPath(enginePath);
                AssemblyLoadContext.Default.Resolving += ResolveEngine;
            }

            AddAccelerators();
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        lock (Gate)
        {
            // The assemblies stay loaded (a load context of a running session is not unloaded); only the
            // names the module added to the session go.
            RemoveAccelerators();
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name)
        => string.Equals(name.Name, EngineName, StringComparison.Ordinal) ? _engine : null;

    private static void AddAccelerators()
    {
        var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
        var add = accelerators?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(Type)]);
        if (add is null || _engine is null)
        {
            return;
        }

        var names = new List<string>();
        foreach (var type in _engine.GetExportedTypes())
        {
            if (type.FullName is { } fullName && !type.IsGenericTypeDefinition)
            {
                add.Invoke(null, [fullName, type]);
                names.Add(fullName);
            }
        }

        _accelerators = [.. names];
    }

    private static void RemoveAccelerators()
    {
        var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
        var remove = accelerators?.GetMethod("Remove", BindingFlags.Public | BindingFlags.Static, [typeof(string)]);
        if (remove is null)
        {
            return;
        }

        foreach (var name in _accelerators)
        {
            remove.Invoke(null, [name]);
        }

        _accelerators = [];
    }

    /// <summary>Loads what is in the dependency folder privately; everything else (the framework) from the default context.</summary>
    private sealed class EngineLoadContext(string folder) : AssemblyLoadContext("BulkData", isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = Path.Combine(folder, assemblyName.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
