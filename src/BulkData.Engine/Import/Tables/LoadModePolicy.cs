namespace BulkData.Engine.Import.Tables;

/// <summary>How tables are loaded.</summary>
internal enum LoadMode
{
    /// <summary>Into tables the import's own pre-data just created: no indexes, keys or triggers yet; in parallel.</summary>
    Fresh,

    /// <summary>Into existing tables with session_replication_role = replica (triggers and foreign-key checks off); in parallel.</summary>
    ExistingReplica,

    /// <summary>Into existing tables, one at a time in foreign-key order (replica role not allowed here).</summary>
    ExistingForeignKeyOrder,
}

/// <summary>The rules that choose the load mode, as pure functions of what the database and the journal say.</summary>
internal static class LoadModePolicy
{
    /// <summary>
    /// Whether the run applies the schema's pre-data (or resumes after it): a schema script is given, and either the
    /// journal says its pre-data or post-data was applied, or none of its tables exists yet.
    /// </summary>
    public static bool IsFresh(bool hasSchema, bool preDataDone, bool postDataDone, int existingTables)
        => hasSchema && (preDataDone || postDataDone || existingTables == 0);

    /// <summary>
    /// The mode of the table loads. Triggers and foreign keys exist when the tables were there before, or after
    /// post-data ran: then replica role when allowed, else foreign-key order.
    /// </summary>
    public static LoadMode Choose(bool fresh, bool postDataDone, bool canSetReplica)
        => fresh && !postDataDone ? LoadMode.Fresh : canSetReplica ? LoadMode.ExistingReplica : LoadMode.ExistingForeignKeyOrder;

    /// <summary>Tables loaded at once: one in foreign-key order, else the throttle limit.</summary>
    public static int Parallelism(LoadMode mode, int throttleLimit) => mode == LoadMode.ExistingForeignKeyOrder ? 1 : throttleLimit;
}
