using BulkData.Engine.Import;

namespace BulkData.Engine.Tests.Import;

/// <summary>
/// One test's own empty database (optionally owned by a role) and dump folder on the test server, both removed when
/// disposed; <see cref="ImportAsync"/> plans and runs an import of the folder as Invoke-BulkImport does.
/// </summary>
internal sealed class ScratchDatabase : IAsyncDisposable
{
    private ScratchDatabase(string name, string dir)
    {
        Name = name;
        Dir = dir;
        ConnectionString = ImportTestEnvironment.ConnectionStringFor(name);
    }

    public string Name { get; }

    /// <summary>The superuser's connection string to the database.</summary>
    public string ConnectionString { get; }

    /// <summary>The folder the test writes its dump files to.</summary>
    public string Dir { get; }

    public static async Task<ScratchDatabase> CreateAsync(string prefix, string? owner = null)
    {
        var db = new ScratchDatabase(ImportTestEnvironment.NewDatabaseName(prefix), Directory.CreateTempSubdirectory($"bulkdata-{prefix}-").FullName);
        await ImportTestEnvironment.ExecAsync(ImportTestEnvironment.ConnectionStringFor("postgres"), $"CREATE DATABASE {db.Name}{(owner is null ? "" : $" OWNER {owner}")}");
        return db;
    }

    /// <summary>Plans and runs an import of <see cref="Dir"/> with <paramref name="options"/>.</summary>
    public async Task<IReadOnlyList<ImportResult>> ImportAsync(ImportOptions options, ListReporter? reporter = null)
    {
        reporter ??= new ListReporter();
        var plan = ImportPlan.Build(new[] { new ImportInput(Dir) }, options, reporter);
        return await new BulkImporter(options, reporter).RunAsync(plan, (_, _) => { }, _ => { }, default);
    }

    public async ValueTask DisposeAsync()
    {
        await ImportTestEnvironment.DropDatabaseAsync(Name);
        Directory.Delete(Dir, true);
    }
}
