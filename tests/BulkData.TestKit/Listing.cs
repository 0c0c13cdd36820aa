using System.Text;
using Amazon.S3.Model;

namespace BulkData.TestKit;

/// <summary>
/// A bucket with history: many dumps' worth of small dated objects, .delta files among them, so that a
/// listing needs more than one ListObjectsV2 page (1,000 keys a page) as the real bucket does.
/// </summary>
public static class Listing
{
    public static readonly string[] Datasets =
    {
        "opinions", "dockets", "opinion-clusters", "citation-map", "courts", "people-db-people", "citations",
        "oral-arguments", "financial-disclosures", "parentheticals",
    };

    /// <summary>Uploads <paramref name="count"/> objects: dumps going back quarter by quarter, newest with the largest files.</summary>
    public static async Task<int> FillAsync(string endpoint, string bucket, string prefix, int count)
    {
        using var s3 = Publisher.CreateClient(endpoint);
        await Publisher.EnsureBucketAsync(s3, bucket, default);
        var keys = new List<(string Key, int Size)>();
        var date = new DateTime(2026, 9, 30);
        for (int dump = 0; keys.Count < count; dump++)
        {
            var d = date.AddMonths(-3 * dump);
            var dd = new DateTime(d.Year, d.Month, DateTime.DaysInMonth(d.Year, d.Month));
            string ds = dd.ToString("yyyy-MM-dd");
            for (int i = 0; i < Datasets.Length && keys.Count < count; i++)
            {
                // Sizes of 100 bytes and more: a .bz2 below 37 bytes would be a stub (a failed export).
                keys.Add(($"{prefix}{Datasets[i]}-{ds}.csv.bz2", (Datasets.Length - i) * 100 + dump % 7));
            }

            if (keys.Count < count)
            {
                keys.Add(($"{prefix}schema-{dd.AddDays(1):yyyy-MM-dd}.sql", 5));
            }

            if (keys.Count < count)
            {
                keys.Add(($"{prefix}opinions-{ds}.csv.bz2.delta", 500));
            }
        }

        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(keys.Select(async k =>
        {
            await gate.WaitAsync();
            try
            {
                var body = Encoding.ASCII.GetBytes(new string('x', k.Size));
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = k.Key, InputStream = new MemoryStream(body), UseChunkEncoding = false });
            }
            finally
            {
                gate.Release();
            }
        }));
        return keys.Count;
    }
}
