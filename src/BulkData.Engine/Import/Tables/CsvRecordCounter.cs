using BulkData.Engine.Import.Sql;
using System.Text;

namespace BulkData.Engine.Import.Tables;

/// <summary>
/// Counts CSV records in a byte stream without parsing fields: a small state machine over the quote and escape
/// characters of the dialect (inside a quoted value the escape character takes the next byte with it; outside,
/// a newline ends a record). It also captures the header record (the column list). Fed chunk by chunk.
/// </summary>
internal sealed class CsvRecordCounter
{
    private readonly byte _quote;
    private readonly byte _escape;
    private readonly byte _delimiter;
    private readonly bool _header;
    private readonly List<byte> _headerBytes = new();
    private bool _inQuotes;
    private bool _escaped;
    private bool _headerDone;
    private bool _recordOpen;
    private long _newlines;
    private long _lineBreaks;
    private bool _afterClose;
    private byte _beforeClose;
    private byte _lastByte;

    public CsvRecordCounter(CopyDialect dialect)
    {
        if (dialect.Quote > 127 || dialect.EscapeChar > 127 || dialect.Delimiter > 127)
        {
            throw new BulkDataException(BulkErrorKind.InvalidArgument, "Quote, escape and delimiter must be ASCII characters.");
        }

        _quote = (byte)dialect.Quote;
        _escape = (byte)dialect.EscapeChar;
        _delimiter = (byte)dialect.Delimiter;
        _header = dialect.Header;
        _headerDone = !dialect.Header;
    }

    /// <summary>Records seen so far, the header excluded.</summary>
    public long Records
    {
        get
        {
            long all = _newlines + (_recordOpen ? 1 : 0);
            return _header ? Math.Max(0, all - 1) : all;
        }
    }

    /// <summary>Physical lines started so far (1-based line of the current position).</summary>
    public long Line => _lineBreaks + 1;

    public bool HeaderComplete => _headerDone;

    /// <summary>True while inside a quoted value (at the end of input: an unterminated quote).</summary>
    public bool InQuotes => _inQuotes;

    /// <summary>
    /// The first byte sequence this dialect reads differently from another plausible one (a quote right after a
    /// closing quote under an escape dialect: RFC 4180's doubled quote; text right after a closing quote: the
    /// value held an escaped quote of another dialect), with its line; null while there is none.
    /// </summary>
    public string? Finding { get; private set; }

    /// <summary>The dialect the <see cref="Finding"/> points to (the one that reads the sequence as one value).</summary>
    public CopyDialect? FindingDialect { get; private set; }

    private void Check(byte next)
    {
        _afterClose = false;
        if (Finding is not null || !_headerDone || next == _delimiter || next == (byte)'\n' || next == (byte)'\r')
        {
            return;
        }

        if (next == _quote)
        {
            if (_quote != _escape)
            {
                Finding = $"line {Line}: a doubled quote inside a quoted value, which RFC 4180 reads as one quote and this dialect drops";
                FindingDialect = _quote == (byte)'"' ? CopyDialect.Rfc4180 : CopyDialect.Backtick;
            }

            return;
        }

        Finding = $"line {Line}: text right after a closing quote ('{(char)_beforeClose}{(char)_quote}{(char)next}'), which this dialect joins to the value";
        // The other plausible dialect with the same quote: ESCAPE '\' for RFC 4180 and back.
        FindingDialect = _quote != (byte)'"' ? null : _quote == _escape ? CopyDialect.Escape : CopyDialect.Rfc4180;
    }

    public void Feed(ReadOnlySpan<byte> data)
    {
        FeedCore(data);
        if (data.Length > 0)
        {
            _lastByte = data[^1];
        }
    }

    private void FeedCore(ReadOnlySpan<byte> data)
    {
        int i = 0;
        if (!_headerDone)
        {
            for (; i < data.Length && !_headerDone; i++)
            {
                Step(data[i]);
                if (!_headerDone)
                {
                    _headerBytes.Add(data[i]);
                }
            }
        }

        while (i < data.Length)
        {
            if (_inQuotes || _escaped)
            {
                i = ScanQuoted(data, i);
                continue;
            }

            if (_afterClose)
            {
                Check(data[i]);
            }

            // Outside quotes: find the next quote or newline.
            var rest = data[i..];
            int k = rest.IndexOfAny(_quote, (byte)'\n');
            if (k < 0)
            {
                _recordOpen = true;
                return;
            }

            if (rest[k] == (byte)'\n')
            {
                if (k > 0)
                {
                    _recordOpen = true;
                }

                _newlines++;
                _lineBreaks++;
                _recordOpen = false;
            }
            else
            {
                _recordOpen = true;
                _inQuotes = true;
            }

            i += k + 1;
        }
    }

    // Inside a quoted value: returns the index just after the closing quote, or data.Length.
    private int ScanQuoted(ReadOnlySpan<byte> data, int i)
    {
        while (i < data.Length)
        {
            if (_escaped)
            {
                _escaped = false;
                if (data[i] == (byte)'\n')
                {
                    _lineBreaks++;
                }

                i++;
                continue;
            }

            var rest = data[i..];
            int k = _quote == _escape ? rest.IndexOfAny(_quote, (byte)'\n') : rest.IndexOfAny(_quote, _escape, (byte)'\n');
            if (k < 0)
            {
                return data.Length;
            }

            byte b = rest[k];
            i += k + 1;
            if (b == (byte)'\n')
            {
                _lineBreaks++;
            }
            else if (b == _escape && _escape != _quote)
            {
                _escaped = true;
            }
            else
            {
                // The quote closes the value; a doubled quote (RFC 4180) reopens it at once, which counts the same.
                _inQuotes = false;
                _afterClose = true;
                _beforeClose = k > 0 ? rest[k - 1] : _lastByte;
                return i;
            }
        }

        return i;
    }

    private void Step(byte b)
    {
        if (_escaped)
        {
            _escaped = false;
            if (b == (byte)'\n')
            {
                _lineBreaks++;
            }

            return;
        }

        if (_inQuotes)
        {
            if (b == _escape && _escape != _quote)
            {
                _escaped = true;
            }
            else if (b == _quote)
            {
                _inQuotes = false;
            }
            else if (b == (byte)'\n')
            {
                _lineBreaks++;
            }

            return;
        }

        if (b == _quote)
        {
            _inQuotes = true;
            _recordOpen = true;
        }
        else if (b == (byte)'\n')
        {
            _newlines++;
            _lineBreaks++;
            _recordOpen = false;
            _headerDone = true;
        }
        else
        {
            _recordOpen = true;
        }
    }

    /// <summary>The header's column names (unquoted), once the header record has been read; null before.</summary>
    public IReadOnlyList<string>? HeaderColumns(bool atEnd = false)
    {
        if (!_header || (!_headerDone && !atEnd) || (_headerBytes.Count == 0 && !_headerDone))
        {
            return null;
        }

        var bytes = _headerBytes.ToArray().AsSpan();
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
        {
            bytes = bytes[..^1];
        }

        var columns = new List<string>();
        var field = new List<byte>();
        bool quoted = false;
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (quoted)
            {
                if (b == _escape && _escape != _quote && i + 1 < bytes.Length)
                {
                    field.Add(bytes[++i]);
                }
                else if (b == _quote)
                {
                    if (_escape == _quote && i + 1 < bytes.Length && bytes[i + 1] == _quote)
                    {
                        field.Add(_quote);
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    field.Add(b);
                }
            }
            else if (b == _quote)
            {
                quoted = true;
            }
            else if (b == _delimiter)
            {
                columns.Add(Encoding.UTF8.GetString(field.ToArray()));
                field.Clear();
            }
            else
            {
                field.Add(b);
            }
        }

        columns.Add(Encoding.UTF8.GetString(field.ToArray()));
        return columns;
    }
}
