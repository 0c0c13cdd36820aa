using BulkData.Engine.Import.Sql;

namespace BulkData.Engine.Import.Tables;

/// <summary>
/// Drops columns from every CSV record while streaming (-ExcludeExtraColumns: a newer dump into an older table):
/// the same state machine as <see cref="CsvRecordCounter"/> over the dialect's quote and escape bytes, copying
/// the bytes of the kept fields and their delimiters untouched. A record with more fields than the header keeps
/// the extra ones, so COPY still refuses it ("extra data after last expected column") rather than losing data.
/// </summary>
internal sealed class CsvColumnFilter
{
    private readonly bool[] _drop;
    private readonly byte _quote;
    private readonly byte _escape;
    private readonly byte _delimiter;
    private bool _inQuotes;
    private bool _escaped;
    private bool _pendingCr;
    private int _field;
    private int _kept;
    private bool _keepField;

    /// <param name="drop">Per header column, true when the column is dropped.</param>
    public CsvColumnFilter(CopyDialect dialect, IReadOnlyList<bool> drop)
    {
        _drop = drop.ToArray();
        _quote = (byte)dialect.Quote;
        _escape = (byte)dialect.EscapeChar;
        _delimiter = (byte)dialect.Delimiter;
        StartRecord();
    }

    /// <summary>Appends the kept bytes of <paramref name="input"/> to <paramref name="output"/>.</summary>
    public void Filter(ReadOnlySpan<byte> input, List<byte> output)
    {
        foreach (byte b in input)
        {
            if (_pendingCr)
            {
                _pendingCr = false;
                if (b == (byte)'\n')
                {
                    output.Add((byte)'\r');
                    output.Add((byte)'\n');
                    StartRecord();
                    continue;
                }

                Emit((byte)'\r', output);
            }

            if (_inQuotes)
            {
                if (_escaped)
                {
                    _escaped = false;
                }
                else if (b == _escape && _escape != _quote)
                {
                    _escaped = true;
                }
                else if (b == _quote)
                {
                    // Ends the value, or (quote doubled) opens it again with the next byte.
                    _inQuotes = false;
                }

                Emit(b, output);
                continue;
            }

            if (b == _quote)
            {
                _inQuotes = true;
                Emit(b, output);
            }
            else if (b == _delimiter)
            {
                StartField(_field + 1, output);
            }
            else if (b == (byte)'\n')
            {
                output.Add(b);
                StartRecord();
            }
            else if (b == (byte)'\r')
            {
                _pendingCr = true;
            }
            else
            {
                Emit(b, output);
            }
        }
    }

    private void Emit(byte b, List<byte> output)
    {
        if (_keepField)
        {
            output.Add(b);
        }
    }

    private void StartRecord()
    {
        _field = -1;
        _kept = 0;
        StartField(0, null);
    }

    private void StartField(int field, List<byte>? output)
    {
        _field = field;
        _keepField = field >= _drop.Length || !_drop[field];
        if (!_keepField)
        {
            return;
        }

        if (_kept > 0)
        {
            output?.Add(_delimiter);
        }

        _kept++;
    }
}
