using System.Diagnostics;
using System.Text;
using BulkData.Engine.Compression;

namespace BulkData.Engine.Tests.Compression;

/// <summary>Inputs generated at test time, and the Debian bzip2 tools that compress them.</summary>
internal static class Bzip2TestData
{
    public static bool ToolExists(string tool) => File.Exists("/usr/bin/" + tool);

    /// <summary>Runs a tool with <paramref name="input"/> on its standard input; returns its standard output.</summary>
    public static byte[] Run(string tool, string arguments, byte[] input)
    {
        var psi = new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var output = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(output);
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            process.StandardInput.BaseStream.Write(input);
        }
        catch (IOException)
        {
            // The tool stopped reading (it failed): its exit code says so below.
        }

        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }

        copyOut.Wait();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {arguments} exited with {process.ExitCode}: {errors.Result}");
        }

        return output.ToArray();
    }

    /// <summary>What a real decoder makes of <paramref name="compressed"/>: its bytes, or null when it refuses the data.</summary>
    public static byte[]? TryTool(string tool, byte[] compressed)
    {
        try
        {
            return Run(tool, tool == "lbzip2" ? "-d -c -n 2" : "-d -c", compressed);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public static byte[] Compress(string tool, int level, byte[] input)
        => tool switch
        {
            "bzip2" => Run("bzip2", $"-c -{level}", input),
            "lbzip2" => Run("lbzip2", $"-c -{level} -n 2", input),
            "pbzip2" => Run("pbzip2", $"-c -{level} -p2", input),
            _ => throw new ArgumentException(tool),
        };

    public static byte[] Decode(byte[] compressed, int threads = 0, string source = "test.bz2")
        => Decode(compressed, out _, threads, source);

    /// <summary>Decodes through <see cref="Bzip2DecoderStream.Read(byte[], int, int)"/>; <paramref name="stats"/> says what the decoder did.</summary>
    internal static byte[] Decode(byte[] compressed, out Bzip2PipelineStats stats, int threads = 0, string source = "test.bz2")
    {
        using var stream = new Bzip2DecoderStream(new MemoryStream(compressed), new Bzip2DecoderOptions { Threads = threads, SourceName = source });
        stats = stream.Statistics;
        var output = new MemoryStream();
        var buffer = new byte[81920 + 17];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(buffer, 0, n);
        }

        return output.ToArray();
    }

    /// <summary>Text shaped like court opinions: words, punctuation, citations, numbers, CSV quoting.</summary>
    public static byte[] Text(int bytes, int seed)
    {
        var random = new Random(seed);
        string[] words =
        {
            "the", "court", "of", "appeals", "plaintiff", "defendant", "held", "that", "judgment", "affirmed", "reversed", "in", "part",
            "statute", "section", "jurisdiction", "motion", "dismiss", "summary", "evidence", "trial", "jury", "verdict", "counsel",
            "opinion", "dissenting", "concurring", "petitioner", "respondent", "whether", "because", "under", "federal", "state",
            "constitution", "amendment", "rights", "contract", "damages", "negligence", "liability", "order", "remand", "é", "§", "—",
        };
        var sb = new StringBuilder(bytes + 256);
        int row = 0;
        while (sb.Length < bytes)
        {
            row++;
            sb.Append(row).Append(",\"");
            int sentenceWords = random.Next(20, 400);
            for (int w = 0; w < sentenceWords; w++)
            {
                if (random.Next(12) == 0)
                {
                    sb.Append(random.Next(1, 999)).Append(" U.S. ").Append(random.Next(1, 999));
                }
                else
                {
                    string word = words[random.Next(words.Length)];
                    sb.Append(random.Next(9) == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
                }

                sb.Append(random.Next(15) == 0 ? ". " : random.Next(30) == 0 ? "\"\" " : " ");
            }

            sb.Append("\",").Append(random.Next(1900, 2025)).Append('-').Append(random.Next(1, 13).ToString("00")).Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static byte[] Random(int bytes, int seed)
    {
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Runs of one byte of every length around the run-length coding's edges (4, 5, 255, 259, 260...).</summary>
    public static byte[] Runs(int seed)
    {
        var random = new Random(seed);
        var output = new MemoryStream();
        int[] lengths = { 1, 2, 3, 4, 5, 6, 7, 8, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 510, 511, 512, 513, 514, 515, 1000, 4096, 70000 };
        byte previous = 0;
        for (int round = 0; round < 40; round++)
        {
            foreach (int length in lengths)
            {
                // Sometimes the same byte again right after a run, which must start a new run.
                byte b = random.Next(4) == 0 ? previous : (byte)random.Next(256);
                for (int i = 0; i < length; i++)
                {
                    output.WriteByte(b);
                }

                previous = b;
            }
        }

        return output.ToArray();
    }

    public static byte[] LongRun(int bytes, byte value)
    {
        var data = new byte[bytes];
        Array.Fill(data, value);
        return data;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
