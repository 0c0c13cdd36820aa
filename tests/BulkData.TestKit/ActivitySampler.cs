using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace BulkData.TestKit;

/// <summary>
/// Samples what the sessions of one database are doing (pg_stat_activity, parallel workers included) every
/// interval until its standard input closes, one line per sample:
/// <c>milliseconds copy copy_waiting index fk other lock idle_in_transaction</c>, each the number of sessions:
/// <list type="bullet">
/// <item><c>copy</c>: a COPY ... FROM the server is working on; <c>copy_waiting</c>: a COPY waiting for the client's next bytes (ClientRead: the client decodes or parses);</item>
/// <item><c>index</c>: CREATE INDEX, or ADD CONSTRAINT ... PRIMARY KEY / UNIQUE (an index build);</item>
/// <item><c>fk</c>: ADD CONSTRAINT ... FOREIGN KEY or VALIDATE CONSTRAINT (validation);</item>
/// <item><c>other</c>: any other statement running; <c>lock</c>: a statement waiting for a lock; <c>idle_in_transaction</c>: a transaction open, no statement running.</item>
/// </list>
/// The benchmark turns the lines into a breakdown of where the time goes, the same way for every contender.
/// The statements counted as other are listed in <c>&lt;out&gt;.other</c>, the most sampled first.
/// </summary>
public static class ActivitySampler
{
    public static async Task<int> RunAsync(string connectionString, string database, int intervalMs, string outPath)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false, ApplicationName = "bulkdata-sampler" }.ConnectionString;
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        using var stop = new CancellationTokenSource();
        var stdin = Task.Run(async () => { await Console.In.ReadToEndAsync(); stop.Cancel(); });
        await using var output = new StreamWriter(outPath) { AutoFlush = false };
        await output.WriteLineAsync("ms copy copy_waiting index fk other lock idle_in_transaction");
        Console.WriteLine("sampling");
        Console.Out.Flush();
        var clock = Stopwatch.StartNew();
        var others = new Dictionary<string, int>();
        await using var cmd = new NpgsqlCommand("""
            SELECT a.state, coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''), upper(left(regexp_replace(a.query, '\s+', ' ', 'g'), 200))
            FROM pg_stat_activity a
            WHERE a.datname = $1 AND a.pid <> pg_backend_pid() AND a.backend_type IN ('client backend', 'parallel worker')
            """, conn);
        cmd.Parameters.AddWithValue(database);
        while (!stop.IsCancellationRequested)
        {
            var counts = new int[7];
            long ms = clock.ElapsedMilliseconds;
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    string state = r.IsDBNull(0) ? "" : r.GetString(0);
                    string waitType = r.GetString(1), wait = r.GetString(2), q = r.GetString(3);
                    if (state == "idle in transaction")
                    {
                        counts[6]++;
                    }
                    else if (state != "active")
                    {
                        continue;
                    }
                    else if (waitType == "Lock")
                    {
                        counts[5]++;
                    }
                    // An import's COPY is always FROM (the FROM may lie past the part read, after a long column list).
                    else if (q.StartsWith("COPY ", StringComparison.Ordinal))
                    {
                        counts[wait == "ClientRead" ? 1 : 0]++;
                    }
                    else if (q.Contains("CREATE INDEX", StringComparison.Ordinal) || q.Contains("CREATE UNIQUE INDEX", StringComparison.Ordinal)
                             || (q.Contains("ADD CONSTRAINT", StringComparison.Ordinal) && (q.Contains("PRIMARY KEY", StringComparison.Ordinal) || q.Contains(" UNIQUE", StringComparison.Ordinal))))
                    {
                        counts[2]++;
                    }
                    else if (q.Contains("FOREIGN KEY", StringComparison.Ordinal) || q.Contains("VALIDATE CONSTRAINT", StringComparison.Ordinal))
                    {
                        counts[3]++;
                    }
                    else
                    {
                        counts[4]++;
                        string head = q.Length > 70 ? q[..70] : q;
                        others[head] = others.GetValueOrDefault(head) + 1;
                    }
                }
            }

            await output.WriteLineAsync(ms.ToString(CultureInfo.InvariantCulture) + " " + string.Join(' ', counts));
            try
            {
                await Task.Delay(intervalMs, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await output.FlushAsync();
        // The statements counted as "other", most sampled first: what they are is part of the breakdown.
        await File.WriteAllLinesAsync(outPath + ".other", others.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Value} {kv.Key}"));
        return 0;
    }
}
