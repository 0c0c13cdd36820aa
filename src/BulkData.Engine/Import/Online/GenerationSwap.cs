using BulkData.Engine.Import.Tables;
using Npgsql;

namespace BulkData.Engine.Import;

/// <summary>What one swap exchanges: the live tables (schema.name) and the schema of the generation coming in.</summary>
internal sealed record SwapPlan(long Generation, IReadOnlyList<(string Schema, string Name)> Tables, string IncomingSchema, string OutgoingSchema, IReadOnlyDictionary<string, IReadOnlyDictionary<string, long?>> MaxValues);

/// <summary>What a swap did.</summary>
internal sealed record SwapOutcome(int Attempts, IReadOnlyList<OutsideForeignKey> RepointedKeys);

/// <summary>
/// Swaps a generation in, in one transaction: every live table and its incoming copy locked at once (ACCESS
/// EXCLUSIVE, under a short lock_timeout: a long reader makes the swap wait and retry with backoff, instead of
/// readers queuing behind a waiting swap for long), the foreign keys of other tables dropped, the live tables moved
/// to the outgoing schema and the incoming ones into their place (indexes, constraints, triggers, owned sequences
/// move with them), the foreign keys added again on the new tables NOT VALID (validated after the commit), the
/// sequences set to at least what the new rows and the old sequence reached, and the journal written. Readers
/// see the old tables until the commit and the new ones after it. Used for -Online and for Undo-BulkImport.
/// </summary>
internal static class GenerationSwap
{
    private static string Q(string s) => Sql.QualifiedName.QuoteIdentifier(s);

    /// <summary>The longest a swap's lock request waits before it gives up and tries again (readers behind it wait at most this).</summary>
    public static TimeSpan LockTimeout { get; set; } = TimeSpan.FromMilliseconds(300);

    public static int MaxAttempts { get; set; } = 60;

    public static async Task<SwapOutcome> SwapAsync(PgConnectionInfo conn, SwapPlan p, Func<NpgsqlTransaction, Task> journal, IBulkReporter reporter, CancellationToken ct)
    {
        var rng = new Random();
        for (int attempt = 1; ; attempt++)
        {
            await using var c = conn.CreateConnection();
            await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            var step = new SwapStep { Doing = "starting the swap transaction", Target = p.IncomingSchema };
            try
            {
                var keys = await SwapOnceAsync(c, tx, p, journal, step, ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return new SwapOutcome(attempt, keys);
            }
            catch (PostgresException e) when ((e.SqlState == PostgresErrorCodes.LockNotAvailable || e.SqlState == PostgresErrorCodes.DeadlockDetected) && !ct.IsCancellationRequested)
            {
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                if (attempt >= MaxAttempts)
                {
                    throw new BulkDataException(BulkErrorKind.InUse,
                        $"The swap of generation {p.Generation} could not lock the tables in {attempt} attempts (each waits {LockTimeout.TotalMilliseconds:0} ms: a long reader or writer holds them): the live tables are as they were; the new generation stays in {p.IncomingSchema}; run again to retry the swap.", p.IncomingSchema, e);
                }

                var wait = TimeSpan.FromMilliseconds(Math.Min(5000, 50 * Math.Pow(2, Math.Min(attempt, 7))) * (0.5 + rng.NextDouble() / 2));
                reporter.Verbose($"Swap of generation {p.Generation}: the tables are busy ({e.MessageText}); attempt {attempt} of {MaxAttempts} again in {wait.TotalMilliseconds:0} ms.");
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            catch (PostgresException e) when (!ct.IsCancellationRequested)
            {
                // Anything else the server refuses (a permission, a name taken in the schema a table moves to): the
                // one translation of the import's errors, naming the statement's object.
                await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                throw StagingDdl.Translate(e,
                    $"The swap of generation {p.Generation} ({p.IncomingSchema} in, {p.OutgoingSchema} out) failed while {step.Doing}; it was rolled back: the live tables are as they were", step.Target);
            }
        }
    }

    /// <summary>What the swap transaction is doing (named in its error).</summary>
    private sealed class SwapStep
    {
        public required string Doing { get; set; }

        public required string Target { get; set; }

        public void Set(string doing, string target)
        {
            Doing = doing;
            Target = target;
        }
    }

    private static async Task ExecAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<OutsideForeignKey>> SwapOnceAsync(NpgsqlConnection c, NpgsqlTransaction tx, SwapPlan p, Func<NpgsqlTransaction, Task> journal, SwapStep step, CancellationToken ct)
    {
        await ExecAsync(c, tx, $"SET LOCAL lock_timeout = '{(int)LockTimeout.TotalMilliseconds}ms'; SET LOCAL search_path = pg_catalog", ct).ConfigureAwait(false);
        var live = p.Tables.Select(t => $"{Q(t.Schema)}.{Q(t.Name)}").ToList();
        var incoming = p.Tables.Select(t => $"{Q(p.IncomingSchema)}.{Q(t.Name)}").ToList();
        step.Set("locking the live tables and their new generation", p.IncomingSchema);
        await ExecAsync(c, tx, $"LOCK TABLE {string.Join(", ", live.Concat(incoming))} IN ACCESS EXCLUSIVE MODE", ct).ConfigureAwait(false);

        // Under the lock nothing new can start pointing at the live tables: read what does now.
        var names = p.Tables.Select(t => $"{Q(t.Schema)}.{Q(t.Name)}").ToList();
        var deps = await LiveCatalog.DependentsAsync(c, names, ct).ConfigureAwait(false);
        if (deps.Blocks)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, OnlineImporter.DependentsError(deps, "the swap"), p.IncomingSchema);
        }

        var others = deps.ForeignKeys.Select(f => f.TableSql).Distinct().ToList();
        if (others.Count > 0)
        {
            step.Set("locking the tables whose foreign keys reference them", string.Join(", ", deps.ForeignKeys.Select(f => f.Table).Distinct()));
            await ExecAsync(c, tx, $"LOCK TABLE {string.Join(", ", others)} IN ACCESS EXCLUSIVE MODE", ct).ConfigureAwait(false);
        }

        // Plain views bound to the tables: their queries, read now (search_path = pg_catalog: every name qualified,
        // the tables still under their live names), made again on the new tables once they are in place.
        var views = new List<(DependentView View, string Definition, string[] Options)>();
        foreach (var v in deps.PlainViews)
        {
            step.Set($"reading view {v.Name}", v.Name);
            await using var read = new NpgsqlCommand("SELECT pg_get_viewdef($1), COALESCE(reloptions, '{}') FROM pg_class WHERE oid = $1", c, tx);
            read.Parameters.Add(new NpgsqlParameter { Value = v.Oid, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
            await using var r = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                views.Add((v, r.GetString(0).Trim().TrimEnd(';'), r.GetFieldValue<string[]>(1)));
            }
        }

        // The views are not locked here: LOCK TABLE on a view also locks the tables it reads with its owner's rights,
        // so a view owned by a role that may only SELECT them (a reporting role) would fail the swap. CREATE OR REPLACE
        // VIEW below takes the view's ACCESS EXCLUSIVE lock itself, under the same lock_timeout, and the tables are
        // locked already: a query of the view waits for the swap either way.

        step.Set($"creating the schema {p.OutgoingSchema}", p.OutgoingSchema);
        await ExecAsync(c, tx, $"CREATE SCHEMA IF NOT EXISTS {Q(p.OutgoingSchema)}", ct).ConfigureAwait(false);
        foreach (var f in deps.ForeignKeys)
        {
            step.Set($"dropping foreign key {f.Name} of {f.Table}", f.Table);
            await ExecAsync(c, tx, $"ALTER TABLE {f.TableSql} DROP CONSTRAINT {Q(f.Name)}", ct).ConfigureAwait(false);
        }

        foreach (var (schema, name) in p.Tables)
        {
            step.Set($"moving {schema}.{name} to {p.OutgoingSchema}", $"{schema}.{name}");
            await ExecAsync(c, tx, $"ALTER TABLE {Q(schema)}.{Q(name)} SET SCHEMA {Q(p.OutgoingSchema)}", ct).ConfigureAwait(false);
            step.Set($"moving {p.IncomingSchema}.{name} to {schema}", $"{p.IncomingSchema}.{name}");
            await ExecAsync(c, tx, $"ALTER TABLE {Q(p.IncomingSchema)}.{Q(name)} SET SCHEMA {Q(schema)}", ct).ConfigureAwait(false);
        }

        foreach (var (view, definition, options) in views)
        {
            // The same view (OID, owner, grants, comments, views on it) with its query bound to the new tables.
            step.Set($"making view {view.Name} again on the new generation", view.Name);
            string with = options.Length == 0 ? "" : $" WITH ({string.Join(", ", options)})";
            await ExecAsync(c, tx, $"CREATE OR REPLACE VIEW {view.Sql}{with} AS {definition}", ct).ConfigureAwait(false);
        }

        foreach (var f in deps.ForeignKeys)
        {
            // The definition names the referenced table by name: now the new generation's.
            step.Set($"adding foreign key {f.Name} of {f.Table} again", f.Table);
            await ExecAsync(c, tx, $"ALTER TABLE {f.TableSql} ADD CONSTRAINT {Q(f.Name)} {f.Definition} NOT VALID", ct).ConfigureAwait(false);
        }

        // Sequences: at least as high as the new rows need, and never lower than the old generation's sequence reached.
        foreach (var (schema, name) in p.Tables)
        {
            if (!p.MaxValues.TryGetValue($"{schema}.{name}", out var columns))
            {
                continue;
            }

            foreach (var (column, max) in columns)
            {
                step.Set($"setting the sequence of {schema}.{name}.{column}", $"{schema}.{name}");
                await using var cmd = new NpgsqlCommand("""
                    SELECT pg_get_serial_sequence(format('%I.%I', $1::text, $2::text), $4), pg_get_serial_sequence(format('%I.%I', $3::text, $2::text), $4)
                    """, c, tx);
                cmd.Parameters.Add(new NpgsqlParameter { Value = schema });
                cmd.Parameters.Add(new NpgsqlParameter { Value = name });
                cmd.Parameters.Add(new NpgsqlParameter { Value = p.OutgoingSchema });
                cmd.Parameters.Add(new NpgsqlParameter { Value = column });
                string? seqNew;
                string? seqOld;
                await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    await r.ReadAsync(ct).ConfigureAwait(false);
                    seqNew = r.IsDBNull(0) ? null : r.GetString(0);
                    seqOld = r.IsDBNull(1) ? null : r.GetString(1);
                }

                if (seqNew is null)
                {
                    continue;
                }

                string old = seqOld is null || seqOld == seqNew ? "NULL" : $"(SELECT CASE WHEN is_called THEN last_value END FROM {seqOld})";
                string sql = $"SELECT setval('{seqNew.Replace("'", "''")}', v, true) FROM (SELECT greatest($1::bigint, {old}) AS v) x WHERE v IS NOT NULL";
                await using var set = new NpgsqlCommand(sql, c, tx);
                set.Parameters.Add(new NpgsqlParameter { Value = (object?)max ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
                await set.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }

        step.Set("writing the journal", ImportJournal.Schema);
        await journal(tx).ConfigureAwait(false);
        return deps.ForeignKeys;
    }

    /// <summary>The highest value of each sequence-fed column of the incoming tables, read before the swap (no lock on the live tables).</summary>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, long?>>> MaxValuesAsync(NpgsqlConnection c, string incomingSchema, IReadOnlyList<LiveTable> tables, CancellationToken ct)
    {
        var map = new Dictionary<string, IReadOnlyDictionary<string, long?>>(StringComparer.OrdinalIgnoreCase);
        foreach (var t in tables)
        {
            var cols = new Dictionary<string, long?>(StringComparer.Ordinal);
            foreach (var col in t.SequenceColumns)
            {
                await using var cmd = new NpgsqlCommand($"SELECT max({Q(col)})::bigint FROM {Q(incomingSchema)}.{Q(t.Name)}", c) { CommandTimeout = 0 };
                var v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
                cols[col] = v is null or DBNull ? null : Convert.ToInt64(v);
            }

            map[t.Qualified] = cols;
        }

        return map;
    }

    /// <summary>
    /// Validates the re-pointed foreign keys of other tables (after the commit: takes no lock readers wait for).
    /// A key with orphans stays NOT VALID (it checks new rows) and is returned with its count and samples.
    /// </summary>
    public static async Task<List<ForeignKeyOrphans>> ValidateRepointedAsync(PgConnectionInfo conn, IReadOnlyList<OutsideForeignKey> keys, IBulkReporter reporter, CancellationToken ct)
    {
        var orphans = new List<ForeignKeyOrphans>();
        if (keys.Count == 0)
        {
            return orphans;
        }

        await using var c = conn.CreateConnection();
        await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
        foreach (var f in keys.Where(k => k.Validated))
        {
            try
            {
                await using var cmd = new NpgsqlCommand($"ALTER TABLE {f.TableSql} VALIDATE CONSTRAINT {Q(f.Name)}", c) { CommandTimeout = 0 };
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                reporter.Verbose($"{f.Table}: foreign key {f.Name} re-pointed at the new {f.References} and validated.");
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                var o = await ImportVerifier.OrphansOfAsync(c, null, f.Table, f.Name, false, ct).ConfigureAwait(false);
                reporter.Warning($"{f.Table}: {o.Count} row(s) whose {o.Columns} have no match in the new {o.References} (foreign key {f.Name}, e.g. {string.Join(", ", o.SampleKeys)}); the key stays NOT VALID (it checks new rows).");
                orphans.Add(o);
            }
            catch (PostgresException e) when (!ct.IsCancellationRequested)
            {
                throw StagingDdl.Translate(e, $"{f.Table}: validating foreign key {f.Name}, re-pointed at the new {f.References} (the swap is committed; the key stays NOT VALID)", f.Table);
            }
        }

        return orphans;
    }

    /// <summary>Drops the previous generation's tables and their schema (after the swap committed); false, with a warning, when something else still needs them.</summary>
    public static async Task<bool> DropPreviousAsync(PgConnectionInfo conn, GenerationRow g, IBulkReporter reporter, CancellationToken ct)
    {
        await using var c = conn.CreateConnection();
        await BulkImporter.OpenAsync(c, conn, ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        try
        {
            await ExecAsync(c, tx, "SET LOCAL lock_timeout = '30s'", ct).ConfigureAwait(false);
            // One statement for all: the old tables' foreign keys between themselves go with them, anything else
            // that still needs them makes it fail (and they are kept).
            var present = new List<string>();
            foreach (var t in g.Tables)
            {
                string name = t[(t.IndexOf('.') + 1)..];
                await using var exists = new NpgsqlCommand($"SELECT to_regclass('{$"{Q(g.PreviousSchema)}.{Q(name)}".Replace("'", "''")}') IS NOT NULL", c, tx);
                if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is true)
                {
                    present.Add($"{Q(g.PreviousSchema)}.{Q(name)}");
                }
            }

            if (present.Count > 0)
            {
                await ExecAsync(c, tx, $"DROP TABLE {string.Join(", ", present)}", ct).ConfigureAwait(false);
            }

            await ExecAsync(c, tx, $"DROP SCHEMA IF EXISTS {Q(g.PreviousSchema)}", ct).ConfigureAwait(false);
            await GenerationJournal.MarkPreviousDroppedAsync(c, tx, g.Id, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            reporter.Verbose($"Generation {g.Id}: the previous tables in {g.PreviousSchema} were dropped.");
            return true;
        }
        catch (PostgresException e) when (!ct.IsCancellationRequested)
        {
            await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            reporter.Warning($"Generation {g.Id}: the previous tables in {g.PreviousSchema} were kept: {e.MessageText}{(e.Detail is null ? "" : $" ({e.Detail})")} (SQLSTATE {e.SqlState}). Drop them when nothing needs them (DROP SCHEMA {g.PreviousSchema} CASCADE).");
            return false;
        }
    }
}
