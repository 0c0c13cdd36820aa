using System.Text;

namespace BulkData.TestKit;

/// <summary>
/// Deterministic legal-looking text for generated rows: a Zipf-distributed vocabulary of made-up words, sentences,
/// paragraphs, citations, and the bytes that break careless CSV readers (double quotes, backslashes, backticks,
/// commas, newlines, a tab, non-ASCII letters). It compresses with bzip2 at about the ratio of the real opinions.
/// </summary>
public sealed class TextMaker
{
    private static readonly string[] Syllables =
    {
        "ad", "al", "an", "ar", "ca", "ci", "co", "de", "di", "en", "er", "es", "fa", "ge", "in", "ju", "la", "le", "li",
        "lo", "ma", "me", "mo", "na", "ne", "no", "or", "pa", "pe", "po", "pro", "ra", "re", "ri", "ro", "sa", "se", "si",
        "so", "ta", "te", "ti", "to", "tu", "un", "ur", "va", "ve", "vi", "tion", "ment", "ous", "ing", "ed", "ly",
    };

    private static readonly string[] Oddities = { "\"so-called\"", "C:\\records\\", "`quoted`", "Müller", "§ 1983", "résumé", "naïve", "—", "\\N", "a,b", "'s" };

    private readonly Random _random;
    private readonly string[] _words;
    private readonly double[] _cumulative;

    public TextMaker(int seed, int vocabulary = 20000)
    {
        _random = new Random(seed);
        var words = new HashSet<string>();
        var vocab = new Random(7);
        while (words.Count < vocabulary)
        {
            int n = 1 + vocab.Next(4);
            var sb = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                sb.Append(Syllables[vocab.Next(Syllables.Length)]);
            }

            words.Add(sb.ToString());
        }

        _words = words.ToArray();
        _cumulative = new double[_words.Length];
        double sum = 0;
        for (int i = 0; i < _words.Length; i++)
        {
            sum += 1.0 / (i + 1);
            _cumulative[i] = sum;
        }

        for (int i = 0; i < _cumulative.Length; i++)
        {
            _cumulative[i] /= sum;
        }
    }

    public Random Random => _random;

    public string Word()
    {
        int i = Array.BinarySearch(_cumulative, _random.NextDouble());
        return _words[i < 0 ? Math.Min(~i, _words.Length - 1) : i];
    }

    /// <summary>A few words, at most <paramref name="maxLength"/> characters.</summary>
    public string Phrase(int words, int maxLength = int.MaxValue)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < words; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            sb.Append(Word());
        }

        return sb.Length > maxLength ? sb.ToString(0, maxLength) : sb.ToString();
    }

    /// <summary>Paragraphs of sentences until about <paramref name="bytes"/> characters; <paramref name="html"/> wraps paragraphs in markup.</summary>
    public string Document(int bytes, bool html)
    {
        var sb = new StringBuilder(bytes + 256);
        while (sb.Length < bytes)
        {
            if (html)
            {
                sb.Append("<p>");
            }

            int sentences = 2 + _random.Next(6);
            for (int s = 0; s < sentences; s++)
            {
                int n = 6 + _random.Next(20);
                string first = Word();
                sb.Append(char.ToUpperInvariant(first[0])).Append(first, 1, first.Length - 1);
                for (int w = 1; w < n; w++)
                {
                    sb.Append(_random.Next(12) == 0 ? ", " : " ");
                    int r = _random.Next(200);
                    if (r == 0)
                    {
                        sb.Append(Oddities[_random.Next(Oddities.Length)]);
                    }
                    else if (r == 1)
                    {
                        sb.Append(_random.Next(1, 999)).Append(" F.").Append(_random.Next(2, 4)).Append("d ").Append(_random.Next(1, 1500));
                    }
                    else
                    {
                        sb.Append(Word());
                    }
                }

                sb.Append(". ");
            }

            sb.Append(html ? "</p>\n" : _random.Next(20) == 0 ? "\n\t" : "\n\n");
        }

        return sb.ToString();
    }
}
