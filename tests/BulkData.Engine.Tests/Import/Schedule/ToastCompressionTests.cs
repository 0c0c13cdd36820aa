using System.Security.Cryptography;
using System.Text;
using BulkData.Engine.Import;
using Xunit;

namespace BulkData.Engine.Tests.Import.Schedule;

/// <summary>
/// The loads' default_toast_compression against the real PostgreSQL 15 of the test run: lz4 when nobody chose the
/// server's, whatever the load (fresh, a -Force reload into a table that holds rows, an -Online staging load); the
/// database's own choice and an -ImportSetting win; the values read back the same either way.
/// </summary>
public class ToastCompressionTests
{
    private const string Schema = """
        CREATE TABLE public.search_opinion (id integer NOT NULL, plain_text text NOT NULL);
        ALTER TABLE ONLY public.search_opinion ADD CONSTRAINT search_opinion_pkey PRIMARY KEY (id);
        CREATE INDEX search_opinion_text ON public.search_opinion USING btree (left(plain_text, 20));
        """;

    /// <summary>Rows of about 6 KB of compressible text (past the 2 KB TOAST threshold), the last one short; returns the md5 of every value in id order, as the server computes it.</summary>
    private static string WriteOpinions(string dir, int rows, string tag)
    {
        var csv = new StringBuilder("id,plain_text\n");
        var all = new StringBuilder();
        for (int i = 1; i <= rows; i++)
        {
            string text = i == rows ? $"short {tag}" : string.Concat(Enumerable.Range(0, 400).Select(k => $"word{(i * k) % 37} {tag} "));
            csv.Append(i).Append(",\"").Append(text).Append("\"\n");
            all.Append(i == 1 ? "" : "|").Append(text);
        }

        File.WriteAllText(Path.Combine(dir, "opinions-2026-09-30.csv"), csv.ToString());
        return Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(all.ToString()))).ToLowerInvariant();
    }

    private static Task<object?> Compressions(string cs)
        => ImportTestEnvironment.ScalarAsync(cs, "SELECT string_agg(DISTINCT coalesce(pg_column_compression(plain_text), 'inline'), ',' ORDER BY coalesce(pg_column_compression(plain_text), 'inline')) FROM public.search_opinion");

    private const string Digest = "SELECT md5(string_agg(plain_text, '|' ORDER BY id)) FROM public.search_opinion";

    private static ImportOptions Options(ScratchDatabase db, Dictionary<string, string>? settings = null)
        => new() { Connection = PgConnectionInfo.Create(db.ConnectionString), DatabaseGiven = true, ThrottleLimit = 2, SessionSettings = settings };

    [SkippableFact]
    public async Task Loads_compress_with_lz4_when_nobody_chose_the_servers_setting_fresh_reloaded_and_online()
    {
        await using var db = await ScratchDatabase.CreateAsync("toast_lz4");
        File.WriteAllText(Path.Combine(db.Dir, "schema-2026-09-30.sql"), Schema);
        string digest = WriteOpinions(db.Dir, 40, "first");
        var reporter = new ListReporter();
        var results = await db.ImportAsync(Options(db), reporter);
        Assert.All(results, r => Assert.Equal(ImportStatus.Imported, r.Status));
        Assert.Equal("inline,lz4", await Compressions(db.ConnectionString));
        Assert.Equal(digest, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, Digest));
        Assert.Equal(1L, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, "SELECT count(*) FROM pg_indexes WHERE indexname = 'search_opinion_text'"));
        Assert.Contains(reporter.Messages, m => m.StartsWith("Session settings for 2 connection(s)", StringComparison.Ordinal)
            && m.Contains("default_toast_compression from default") && m.Contains("loads default_toast_compression = lz4") && m.Contains("post-data maintenance_work_mem = "));
        // The session's own setting is left as the server has it: only the import's connections chose lz4.
        Assert.Equal("pglz", await ImportTestEnvironment.ScalarAsync(db.ConnectionString, "SHOW default_toast_compression"));

        // A -Force reload into the table that holds rows (one transaction: TRUNCATE and COPY).
        // (This test's own session writes with the server's pglz.)
        await ImportTestEnvironment.ExecAsync(db.ConnectionString, "UPDATE public.search_opinion SET plain_text = repeat('x', 3000) || id WHERE id = 2");
        Assert.Equal("inline,lz4,pglz", await Compressions(db.ConnectionString));
        digest = WriteOpinions(db.Dir, 30, "second");
        results = await db.ImportAsync(Options(db) with { Force = true });
        Assert.All(results, r => Assert.Equal(ImportStatus.Imported, r.Status));
        Assert.Equal("inline,lz4", await Compressions(db.ConnectionString));
        Assert.Equal(digest, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, Digest));

        // -Online: the staging copy loads with lz4 too, and is what the live name shows after the swap.
        digest = WriteOpinions(db.Dir, 25, "third");
        results = await db.ImportAsync(Options(db) with { Online = true });
        Assert.All(results, r => Assert.Equal(ImportStatus.Imported, r.Status));
        Assert.Equal(25L, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, "SELECT count(*) FROM public.search_opinion"));
        Assert.Equal("inline,lz4", await Compressions(db.ConnectionString));
        Assert.Equal(digest, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, Digest));
    }

    [SkippableFact]
    public async Task The_databases_own_setting_and_an_import_setting_win_and_a_column_of_its_own_keeps_it()
    {
        await using var db = await ScratchDatabase.CreateAsync("toast_own");
        File.WriteAllText(Path.Combine(db.Dir, "schema-2026-09-30.sql"), Schema);
        string digest = WriteOpinions(db.Dir, 20, "own");
        await ImportTestEnvironment.ExecAsync(ImportTestEnvironment.ConnectionStringFor("postgres"), $"ALTER DATABASE {db.Name} SET default_toast_compression = pglz");
        var reporter = new ListReporter();
        Assert.All(await db.ImportAsync(Options(db), reporter), r => Assert.Equal(ImportStatus.Imported, r.Status));
        Assert.Equal("inline,pglz", await Compressions(db.ConnectionString));
        Assert.Equal(digest, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, Digest));
        Assert.Contains(reporter.Messages, m => m.Contains("default_toast_compression from database") && !m.Contains("default_toast_compression = "));

        // -ImportSetting wins over the database's setting (and the choice), on the loads as on post-data.
        Assert.All(await db.ImportAsync(Options(db, new() { ["default_toast_compression"] = "lz4" }) with { Force = true }), r => Assert.Equal(ImportStatus.Imported, r.Status));
        Assert.Equal("inline,lz4", await Compressions(db.ConnectionString));

        // A column's own COMPRESSION is the schema's word: it wins over the session's default.
        await ImportTestEnvironment.ExecAsync(ImportTestEnvironment.ConnectionStringFor("postgres"), $"ALTER DATABASE {db.Name} RESET default_toast_compression");
        await ImportTestEnvironment.ExecAsync(db.ConnectionString, "ALTER TABLE public.search_opinion ALTER COLUMN plain_text SET COMPRESSION pglz");
        Assert.All(await db.ImportAsync(Options(db) with { Force = true }), r => Assert.Equal(ImportStatus.Imported, r.Status));
        Assert.Equal("inline,pglz", await Compressions(db.ConnectionString));
        Assert.Equal(digest, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, Digest));

        // A value the server does not take fails before anything is loaded, naming it.
        var e = await Assert.ThrowsAsync<BulkDataException>(() => db.ImportAsync(Options(db, new() { ["default_toast_compression"] = "zstd" }) with { Force = true }));
        Assert.Contains("-ImportSetting default_toast_compression = 'zstd'", e.Message, StringComparison.Ordinal);
        Assert.Equal(digest, await ImportTestEnvironment.ScalarAsync(db.ConnectionString, Digest));
    }
}
