namespace BulkData.Engine.Manifest;

/// <summary>
/// One table the publisher exports: the dataset the project calls it by, its table, and the file prefix the
/// exporter writes today (<c>&lt;prefix&gt;-&lt;date&gt;.csv.bz2</c>; a few files are named after their table).
/// </summary>
public sealed record CatalogEntry(string Dataset, string Table, string FilePrefix)
{
    /// <summary>The exporter's file name for a dump date, compressed: <c>courts-2026-09-30.csv.bz2</c>.</summary>
    public string FileName(DateTime dumpDate) => $"{FilePrefix}-{dumpDate:yyyy-MM-dd}.csv.bz2";
}

/// <summary>
/// The publisher's mapping from dataset (file prefix) to table, as its exporter (scripts/make_bulk_data.sh)
/// has written it: the 33 tables exported today, the files named after their table, and the table names the
/// exporter has got wrong. Every rule about the publisher's names lives here.
/// </summary>
public static class DatasetCatalog
{
    // In the order of the facts file. The file prefix differs from the dataset only for the files the
    // exporter names after their table.
    private static readonly CatalogEntry[] Entries =
    {
        // The person-to-race links (since 2023-10): not the race lookup, whatever older notes said.
        new("people-db-races", "people_db_person_race", "people-db-races"),
        // The race lookup, exported under its table name since 2024-07.
        new("people_db_race", "people_db_race", "people_db_race"),
        new("people-db-people", "people_db_person", "people-db-people"),
        new("people-db-schools", "people_db_school", "people-db-schools"),
        new("courts", "search_court", "courts"),
        new("people-db-positions", "people_db_position", "people-db-positions"),
        new("originating-court-information", "search_originatingcourtinformation", "originating-court-information"),
        new("fjc-integrated-database", "recap_fjcintegrateddatabase", "fjc-integrated-database"),
        new("opinion-clusters", "search_opinioncluster", "opinion-clusters"),
        new("dockets", "search_docket", "dockets"),
        new("search-opinioncluster-panel", "search_opinioncluster_panel", "search_opinioncluster_panel"),
        new("opinions", "search_opinion", "opinions"),
        new("search-opinioncluster-non-participating-judges", "search_opinioncluster_non_participating_judges", "search_opinioncluster_non_participating_judges"),
        new("search-opinion-joined-by", "search_opinion_joined_by", "search_opinion_joined_by"),
        new("courthouses", "search_courthouse", "courthouses"),
        new("court-appeals-to", "search_court_appeals_to", "court-appeals-to"),
        new("citation-map", "search_opinionscited", "citation-map"),
        new("citations", "search_citation", "citations"),
        new("parentheticals", "search_parenthetical", "parentheticals"),
        new("oral-arguments", "audio_audio", "oral-arguments"),
        new("people-db-retention-events", "people_db_retentionevent", "people-db-retention-events"),
        new("people-db-educations", "people_db_education", "people-db-educations"),
        new("people-db-political-affiliations", "people_db_politicalaffiliation", "people-db-political-affiliations"),
        new("financial-disclosures", "disclosures_financialdisclosure", "financial-disclosures"),
        new("financial-disclosure-investments", "disclosures_investment", "financial-disclosure-investments"),
        new("financial-disclosures-positions", "disclosures_position", "financial-disclosures-positions"),
        new("financial-disclosures-agreements", "disclosures_agreement", "financial-disclosures-agreements"),
        new("financial-disclosures-non-investment-income", "disclosures_noninvestmentincome", "financial-disclosures-non-investment-income"),
        new("financial-disclosures-spousal-income", "disclosures_spouseincome", "financial-disclosures-spousal-income"),
        new("financial-disclosures-reimbursements", "disclosures_reimbursement", "financial-disclosures-reimbursements"),
        new("financial-disclosures-gifts", "disclosures_gift", "financial-disclosures-gifts"),
        new("financial-disclosures-debts", "disclosures_debt", "financial-disclosures-debts"),
        new("unmatched-citations", "citations_unmatchedcitation", "unmatched-citations"),
    };

    /// <summary>
    /// Table names the exporter has written that are not tables: from 2025-05 to 2026-06 its list named
    /// <c>citations_unmatchedcitations</c> (those exports were empty stubs, and the load scripts said so too).
    /// </summary>
    private static readonly Dictionary<string, string> MisnamedTables = new(StringComparer.OrdinalIgnoreCase)
    {
        ["citations_unmatchedcitations"] = "citations_unmatchedcitation",
    };

    private static readonly Dictionary<string, CatalogEntry> ByName = BuildIndex();

    private static readonly Dictionary<string, CatalogEntry> ByTable =
        Entries.ToDictionary(e => e.Table, StringComparer.OrdinalIgnoreCase);

    private static Dictionary<string, CatalogEntry> BuildIndex()
    {
        // A file prefix may be the dataset, the exporter's file prefix, the table, or a misnamed table.
        var index = new Dictionary<string, CatalogEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in Entries)
        {
            index[e.Dataset] = e;
            index[e.FilePrefix] = e;
            index[e.Table] = e;
        }

        foreach (var (wrong, right) in MisnamedTables)
        {
            index[wrong] = Entries.Single(e => e.Table == right);
        }

        return index;
    }

    /// <summary>Every table the publisher exports today (33), in the order of the facts file.</summary>
    public static IReadOnlyList<CatalogEntry> All => Entries;

    /// <summary>The table of a dataset, of a file prefix, of a table name or of a misnamed table; null when unknown.</summary>
    public static string? TableFor(string datasetOrPrefix) => ByName.TryGetValue(datasetOrPrefix, out var e) ? e.Table : null;

    /// <summary>The dataset of a table (or of a table name the exporter got wrong); null when unknown.</summary>
    public static string? DatasetFor(string table) => Find(table)?.Dataset;

    /// <summary>The catalogue's entry for a table, a dataset or a file prefix.</summary>
    public static CatalogEntry? Find(string name)
        => ByTable.TryGetValue(name, out var e) ? e : ByName.TryGetValue(name, out e) ? e : null;

    /// <summary>A table name as a load script states it, with the exporter's known misnamings corrected.</summary>
    public static string CorrectTable(string table) => MisnamedTables.TryGetValue(table, out var right) ? right : table;

    /// <summary>A data file named after its table, or with any other name the publisher used, gets its dataset's name.</summary>
    internal static string NormalizeDataset(string name, EntryKind kind)
        => kind == EntryKind.Data && ByName.TryGetValue(name, out var e) ? e.Dataset : name;
}
