// Generates opinions-like CSV text for the benchmarks: a Zipf-distributed vocabulary of made-up words,
// sentences and paragraphs, citations, dates and ids. Not repetitive: bzip2 compresses it about 4 times,
// like CourtListener's opinion exports. Compiled by bench/run.ps1 with Add-Type.
using System;
using System.IO;
using System.Text;

public static class BenchOpinionsText
{
    public static void Write(string path, long bytes, int seed)
    {
        ulong state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;
        Func<uint> next = () =>
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return (uint)(state >> 11);
        };

        string[] syllables = { "ba", "ter", "co", "ur", "tion", "al", "de", "fen", "dant", "pla", "in", "tiff", "ju", "ris", "dic", "st", "at",
            "ute", "re", "ver", "sed", "ap", "pe", "als", "mo", "on", "ev", "id", "ence", "con", "tract", "neg", "li", "gence", "or", "der",
            "is", "an", "the", "of", "mi", "ka", "lu", "po", "ze", "qui", "gh", "ly", "ness", "ment", "ex", "pro", "sub", "ward" };
        const int vocabulary = 60000;
        var words = new string[vocabulary];
        var cumulative = new double[vocabulary];
        double sum = 0;
        for (int i = 0; i < vocabulary; i++)
        {
            int parts = 1 + (int)(next() % 4);
            var w = new StringBuilder();
            for (int p = 0; p < parts; p++)
            {
                w.Append(syllables[next() % syllables.Length]);
            }

            words[i] = w.ToString();
            sum += 1.0 / Math.Pow(i + 1, 0.95);
            cumulative[i] = sum;
        }

        using var output = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var sb = new StringBuilder(1 << 16);
        long written = 0;
        long id = 1000000;
        while (written < bytes)
        {
            sb.Clear();
            id += 1 + next() % 50;
            sb.Append(id).Append(',').Append(1950 + next() % 75).Append('-').Append((1 + next() % 12).ToString("00")).Append('-').Append((1 + next() % 28).ToString("00"));
            sb.Append(",\"");
            int paragraphs = 1 + (int)(next() % 8);
            for (int p = 0; p < paragraphs; p++)
            {
                int sentences = 2 + (int)(next() % 9);
                for (int s = 0; s < sentences; s++)
                {
                    int n = 6 + (int)(next() % 30);
                    for (int k = 0; k < n; k++)
                    {
                        double u = next() / 4294967296.0 * sum;
                        int lo = 0, hi = vocabulary - 1;
                        while (lo < hi)
                        {
                            int mid = (lo + hi) >> 1;
                            if (cumulative[mid] < u) lo = mid + 1; else hi = mid;
                        }

                        string word = words[lo];
                        if (k == 0)
                        {
                            sb.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
                        }
                        else
                        {
                            sb.Append(word);
                        }

                        uint r = next() % 40;
                        if (r == 0)
                        {
                            sb.Append(", ").Append(1 + next() % 999).Append(" U.S. ").Append(1 + next() % 999).Append(" (").Append(1900 + next() % 125).Append(')');
                        }
                        else if (r == 1)
                        {
                            sb.Append(',');
                        }
                        else if (r == 2)
                        {
                            sb.Append(" \"\"").Append(words[next() % vocabulary]).Append("\"\"");
                        }

                        sb.Append(k + 1 < n ? ' ' : '.');
                    }

                    sb.Append(' ');
                }

                sb.Append('\n');
            }

            sb.Append("\",").Append(next() % 2 == 0 ? "t" : "f").Append(',').Append(next() % 100000).Append('\n');
            output.Write(sb);
            written += sb.Length;
        }
    }
}
