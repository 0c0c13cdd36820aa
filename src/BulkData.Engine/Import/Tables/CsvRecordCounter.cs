using BulkData.Engine.Import.Sql;
using System.Text;

namespace BulkData.Engine.Import.Tables;

/// <summary>
/// Counts CSV records in a byte stream without parsing fields: a small state machine over the quote and escape
/// characters of the dialect (inside a quoted value the escape character takes the next byte with it; outside,
/// a newline ends a record). It also captures the header record (the column list). Fed chunk by chunk.
/// <para>
/// While it counts it watches for what the chosen dialect reads differently from the other three text dialects
/// of the publisher's history (<see cref="Finding"/>): under ESCAPE '\' a doubled quote inside a value, or a
/// backslash before anything but a quote or a backslash (which that exporter never writes: RFC 4180 text); under
/// RFC 4180 an escaped quote (text after a closing quote) or, at the end of the file, doubled backslashes with no
/// single backslash and no doubled quote anywhere (ESCAPE '\' writes every backslash doubled); under a double
/// quote an unquoted value wrapped in backticks (a backtick-quoted value), and under the backtick an unquoted value
/// wrapped in double quotes.
/// </para>
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

    // The dialect watch (see the class summary).
    private readonly byte _otherQuote;
    private readonly bool _escapeDialect;
    private readonly bool _rfcDialect;
    private bool _fieldStart = true;
    private byte _fieldFirst;
    private long _fieldLength;
    private int _backslashRun;
    private long _doubledBackslashes;
    private long _doubledBackslashLine;
    private bool _singleBackslash;
    private bool _doubledQuote;
    private bool _wrappedEscaped;
    private bool _wrappedDoubled;

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
        _otherQuote = _quote == (byte)'"' ? (byte)'`' : _quote == (byte)'`' ? (byte)'"' : (byte)0;
        _escapeDialect = _quote == (byte)'"' && _escape == (byte)'\\';
        _rfcDialect = _quote == (byte)'"' && _escape == (byte)'"';
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
            if (_quote == _escape)
            {
                _doubledQuote = true;
            }
            else
            {
                Finding = $"line {Line}: a doubled quote inside a quoted value, which RFC 4180 reads as one quote and this dialect drops";
                FindingDialect = _quote == (byte)'"' ? CopyDialect.Rfc4180 : CopyDialect.Backtick;
            }

            return;
        }

        Finding = $"line {Line}: text right after a closing quote ('{(char)_beforeClose}{(char)_quote}{(char)next}'), which this dialect joins to the value";
        // The other plausible dialect with the same quote: ESCAPE '\' for RFC 4180 and back.
        FindingDialect = _quote != (byte)'"' ? null : _fieldFirst == (byte)'`' ? CopyDialect.Backtick : _quote == _escape ? CopyDialect.Escape : CopyDialect.Rfc4180;
    }

    /// <summary>
    /// The end of the file: the findings only the whole file shows (under RFC 4180, doubled backslashes and not one
    /// single backslash nor doubled quote: the ESCAPE '\' exporter's output).
    /// </summary>
    public void Complete()
    {
        if (_backslashRun > 0)
        {
            EndBackslashRun(0);
        }

        if (Finding is null && _rfcDialect && _doubledBackslashes > 0 && !_singleBackslash && !_doubledQuote)
        {
            Finding = $"line {_doubledBackslashLine}: doubled backslashes inside quoted values ({_doubledBackslashes} in the file, and neither a single backslash nor a doubled quote), which ESCAPE '\\' reads as one backslash and this dialect keeps as two";
            FindingDialect = CopyDialect.Escape;
        }
    }

    // An unquoted value has ended (at a delimiter or a newline) with the byte 'last': wrapped in the other dialect's quote?
    // A double-quoted value read under the backtick tells ESCAPE '\' (\" or \\ inside) from RFC 4180 (doubled
    // quotes inside); with neither, today's ESCAPE '\'.
    private void EndField(byte last)
    {
        if (Finding is null && _headerDone && _otherQuote != 0 && _fieldFirst == _otherQuote && _fieldLength >= 2 && last == _otherQuote)
        {
            char q = (char)_otherQuote;
            Finding = $"line {Line}: an unquoted value wrapped in {(q == '`' ? "backticks" : "double quotes")} ({q}...{q}), which the {(q == '`' ? "backtick" : "double-quote")} dialect reads as a quoted value and this dialect keeps with its quotes";
            FindingDialect = q == '`' ? CopyDialect.Backtick : _wrappedEscaped || !_wrappedDoubled ? CopyDialect.Escape : CopyDialect.Rfc4180;
        }

        _wrappedEscaped = false;
        _wrappedDoubled = false;

        _fieldStart = true;
        _fieldFirst = 0;
        _fieldLength = 0;
    }

    // Under the backtick, part of an unquoted value that began with a double quote ('prev' the byte before it).
    private void NoteWrapped(byte prev, ReadOnlySpan<byte> part)
    {
        for (int j = 0; j < part.Length; j++)
        {
            byte a = j == 0 ? prev : part[j - 1], b = part[j];
            _wrappedEscaped |= a == (byte)'\\' && b is (byte)'"' or (byte)'\\';
            _wrappedDoubled |= a == (byte)'"' && b == (byte)'"';
        }
    }

    // Under RFC 4180, a run of backslashes inside a quoted value ended before 'next' (0: the end of the file).
    private void EndBackslashRun(byte next)
    {
        if (_headerDone)
        {
            if (_backslashRun % 2 == 0)
            {
                if (_doubledBackslashes++ == 0)
                {
                    _doubledBackslashLine = Line;
                }
            }
            else if (next != _quote)
            {
                _singleBackslash = true;
            }
        }

        _backslashRun = 0;
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

            if (_fieldStart)
            {
                _fieldStart = false;
                _fieldFirst = data[i];
            }

            // Outside quotes: find the next quote, delimiter or newline.
            var rest = data[i..];
            int k = rest.IndexOfAny(_quote, _delimiter, (byte)'\n');
            if (_fieldFirst == (byte)'"' && _quote == (byte)'`')
            {
                NoteWrapped(i > 0 ? data[i - 1] : _lastByte, k < 0 ? rest : rest[..k]);
            }

            if (k < 0)
            {
                _fieldLength += rest.Length;
                _recordOpen = true;
                return;
            }

            _fieldLength += k;
            byte b = rest[k];
            if (b == (byte)'\n' || b == _delimiter)
            {
                byte last = k > 0 ? rest[k - 1] : i > 0 ? data[i - 1] : _lastByte;
                EndField(last == (byte)'\r' && k > 1 ? rest[k - 2] : last);
            }

            if (b == (byte)'\n')
            {
                _newlines++;
                _lineBreaks++;
                _recordOpen = false;
            }
            else if (b == _delimiter)
            {
                _recordOpen = true;
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
                byte e = data[i];
                if (e == (byte)'\n')
                {
                    _lineBreaks++;
                }

                if (_escapeDialect && e != (byte)'\\' && e != (byte)'"' && Finding is null && _headerDone)
                {
                    // The ESCAPE '\' exporter puts a backslash only before a quote or a backslash.
                    Finding = $"line {Line}: a single backslash before '{(e < 32 ? $"\\x{e:x2}" : ((char)e).ToString())}' inside a quoted value, which ESCAPE '\\' never writes (RFC 4180 text, where a backslash is a character)";
                    FindingDialect = CopyDialect.Rfc4180;
                }

                i++;
                continue;
            }

            if (_backslashRun > 0)
            {
                // Under RFC 4180: count the run of backslashes, then judge it by the byte after it.
                while (i < data.Length && data[i] == (byte)'\\')
                {
                    _backslashRun++;
                    i++;
                }

                if (i == data.Length)
                {
                    return i;
                }

                EndBackslashRun(data[i]);
            }

            var rest = data[i..];
            int k = _rfcDialect ? rest.IndexOfAny(_quote, (byte)'\\', (byte)'\n')
                : _quote == _escape ? rest.IndexOfAny(_quote, (byte)'\n') : rest.IndexOfAny(_quote, _escape, (byte)'\n');
            if (k < 0)
            {
                return data.Length;
            }

            byte b = rest[k];
            i += k + 1;
            if (b == (byte)'\\' && _rfcDialect)
            {
                _backslashRun = 1;
            }
            else if (b == (byte)'\n')
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
