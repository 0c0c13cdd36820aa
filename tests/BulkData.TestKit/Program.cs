using System.Globalization;
using BulkData.TestKit;

// The test kit's command line, used by the Pester suites, the demo and the benchmarks:
//   publish  --pg <connection string> --out <dir> [--endpoint <url>] [--date yyyy-MM-dd (default: the dialect's era)] [--dockets N] [--words N]
//            [--courts N] [--people N] [--dialect Escape|ForceQuote|Backtick|Plain|Binary] [--compressor lbzip2]
//            [--source-db name] [--bucket b] [--prefix p] [--part-size bytes]
//            [--load-script Exporter|Template|OneLine|None]   (default: the exporter's multi-line output; Binary: None)
//            [--stub dataset-or-table,...]                    (those files are the 14-byte empty bzip2 stream)
//            [--extra-column table.column,...]                (a column the export and its schema have, an older table not)
//            [--drop-column table.column,...]                 (a column the export leaves out)
//            [--orphans table.column=N,...]                   (N rows whose foreign key names a parent the dump lacks)
//   publish-full --pg <connection string> --out <dir> [--size-mb 400] [--schema-file path] [--source-db name] [--date yyyy-MM-dd]
//            [--endpoint <url>] [--bucket b] [--prefix p] [--compressor lbzip2] [--seed N]
//            (all 33 exported tables, the source made from the real schema in ../shared at run time: FullDump.cs)
//   sample   --pg <connection string> --db <name> [--interval-ms 200] --out <file>   (what the server's sessions of one
//            database do, sampled from pg_stat_activity until stdin closes: ActivitySampler.cs)
//   listing  --endpoint <url> --bucket <b> --prefix <p> --count N     (many small dated objects, for paging)
//   put      --endpoint <url> --bucket <b> --key <k> --file <path> [--part-size bytes]
//   hostile-listing --mode RepeatingToken|EmptyPagesForever|BadKeys|ManyKeys [--count N]   (a ListObjectsV2 server on
//            loopback with hostile listings: HostileListingServer.cs; prints its port, runs until stdin closes)
//   yaml-to-json <file>    prints a YAML file (e.g. `docker-compose config` output) as JSON
//   docker   compose ...   the stand-in docker program (see DockerStandIn.cs): tests wrap it in a `docker` script
//   bzip2-craft --kind false-magics --bytes N --out <path> [--seed N]   (a valid .bz2 whose compressed bits spell
//            the block magics over and over; prints the number of false magics; see Bzip2Crafter.cs)
//   proxy    --upstream <url or host:port> [--port N] [--reset-after bytes] [--resets N (-1: every connection)]
//            [--drop-first N] [--rate bytes-per-second] [--stall 1: hold instead of reset] [--slowdown-for seconds] [--retry-after seconds] [--log path]   (fault-injecting TCP proxy; prints its port, runs until stdin closes)
var opts = ParseArgs(args.Skip(1));
string Get(string name, string? fallback = null) => opts.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");
string[] List(string name) => opts.TryGetValue(name, out var v) ? v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : Array.Empty<string>();
switch (args.FirstOrDefault())
{
    case "docker":
        return BulkData.TestKit.DockerStandIn.Run(args.Skip(1).ToArray());

    case "bzip2-craft":
    {
        if (Get("kind") != "false-magics")
        {
            throw new ArgumentException("--kind: only false-magics");
        }

        byte[] stream = Bzip2Crafter.FalseMagics(int.Parse(Get("bytes"), CultureInfo.InvariantCulture), int.Parse(Get("seed", "1"), CultureInfo.InvariantCulture), out int magics, out _);
        File.WriteAllBytes(Get("out"), stream);
        Console.WriteLine(magics.ToString(CultureInfo.InvariantCulture));
        return 0;
    }

    case "yaml-to-json":
        Console.WriteLine(BulkData.TestKit.DockerStandIn.YamlToJson(File.ReadAllText(args[1])));
        return 0;

    case "publish":
    {
        var dump = await Publisher.PublishAsync(new PublishOptions
        {
            ConnectionString = Get("pg"),
            OutputDirectory = Get("out"),
            EndpointUrl = opts.GetValueOrDefault("endpoint"),
            // Each dialect's dump is dated in its era unless --date says otherwise.
            DumpDate = DateTime.ParseExact(Get("date", Publisher.EraDate(Publisher.ParseDialect(Get("dialect", "Escape"))).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), "yyyy-MM-dd", CultureInfo.InvariantCulture),
            Dockets = int.Parse(Get("dockets", "60")),
            Words = int.Parse(Get("words", "40")),
            Courts = int.Parse(Get("courts", "12")),
            People = int.Parse(Get("people", "20")),
            Dialect = Publisher.ParseDialect(Get("dialect", "Escape")),
            LoadScript = opts.TryGetValue("load-script", out var ls) ? Enum.Parse<LoadScriptStyle>(ls, ignoreCase: true) : null,
            Stubs = List("stub"),
            ExtraColumns = List("extra-column"),
            DropColumns = List("drop-column"),
            Orphans = List("orphans"),
            Compressor = Get("compressor", "lbzip2"),
            SourceDatabase = Get("source-db", "cl_source"),
            Bucket = Get("bucket", "com-courtlistener-storage"),
            Prefix = Get("prefix", "bulk-data/"),
            MultipartPartSize = long.Parse(Get("part-size", (8 * 1024 * 1024).ToString())),
        });
        Console.WriteLine(Publisher.ToJson(dump));
        return 0;
    }

    case "publish-full":
    {
        var full = await FullDump.PublishAsync(new FullDumpOptions
        {
            ConnectionString = Get("pg"),
            OutputDirectory = Get("out"),
            SchemaFile = opts.GetValueOrDefault("schema-file"),
            SizeMB = double.Parse(Get("size-mb", "400"), CultureInfo.InvariantCulture),
            DumpDate = DateTime.ParseExact(Get("date", "2026-09-30"), "yyyy-MM-dd", CultureInfo.InvariantCulture),
            SourceDatabase = Get("source-db", "cl_full_source"),
            Compressor = Get("compressor", "lbzip2"),
            Seed = int.Parse(Get("seed", "42"), CultureInfo.InvariantCulture),
            EndpointUrl = opts.GetValueOrDefault("endpoint"),
            Bucket = Get("bucket", "com-courtlistener-storage"),
            Prefix = Get("prefix", "bulk-data/"),
        });
        Console.WriteLine(Publisher.ToJson(full));
        return 0;
    }

    case "sample":
        return await ActivitySampler.RunAsync(Get("pg"), Get("db"), int.Parse(Get("interval-ms", "200"), CultureInfo.InvariantCulture), Get("out"));

    case "listing":
    {
        int count = await Listing.FillAsync(Get("endpoint"), Get("bucket", "com-courtlistener-storage"), Get("prefix", "bulk-data/"), int.Parse(Get("count", "1111")));
        Console.WriteLine(count);
        return 0;
    }

    case "put":
    {
        using var s3 = Publisher.CreateClient(Get("endpoint"));
        string bucket = Get("bucket", "com-courtlistener-storage");
        await Publisher.EnsureBucketAsync(s3, bucket, default);
        Console.WriteLine(await Publisher.UploadAsync(s3, bucket, Get("key"), Get("file"), long.Parse(Get("part-size", "0")), default));
        return 0;
    }

    case "proxy":
    {
        string upstream = Get("upstream");
        var uri = upstream.Contains("://") ? new Uri(upstream) : new Uri("tcp://" + upstream);
        await using var proxy = new FaultProxy(uri.Host, uri.Port, long.Parse(Get("reset-after", "0")), int.Parse(Get("resets", "-1")), int.Parse(Get("drop-first", "0")), opts.GetValueOrDefault("log"), int.Parse(Get("port", "0")), long.Parse(Get("rate", "0"))) { Stall = Get("stall", "0") == "1", SlowDownFor = TimeSpan.FromSeconds(double.Parse(Get("slowdown-for", "0"), System.Globalization.CultureInfo.InvariantCulture)), RetryAfterSeconds = int.Parse(Get("retry-after", "0")) };
        proxy.Start();
        Console.WriteLine(proxy.Port);
        Console.Out.Flush();
        // Runs until its standard input closes (the test that started it ends) or it is killed.
        await Console.In.ReadToEndAsync();
        return 0;
    }

    case "hostile-listing":
    {
        await using var server = new HostileListingServer(Enum.Parse<HostileListing>(Get("mode"), ignoreCase: true), int.Parse(Get("count", "1000000"), CultureInfo.InvariantCulture));
        Console.WriteLine(server.Port);
        Console.Out.Flush();
        // Runs until its standard input closes or it is killed.
        await Console.In.ReadToEndAsync();
        return 0;
    }

    default:
        Console.Error.WriteLine("usage: BulkData.TestKit publish|listing|put --option value ...");
        return 2;
}

static Dictionary<string, string> ParseArgs(IEnumerable<string> args)
{
    var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    string? name = null;
    foreach (var a in args)
    {
        if (a.StartsWith("--", StringComparison.Ordinal))
        {
            name = a[2..];
            result[name] = "true";
        }
        else if (name is not null)
        {
            result[name] = a;
            name = null;
        }
    }

    return result;
}
