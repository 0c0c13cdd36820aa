namespace BulkData.Engine.Manifest;

/// <summary>
/// The publisher's mapping from dataset (file prefix) to table, as its exporter writes it.
/// Older dumps named a few files after their tables; those names map back to the dataset.
/// </summary>
public static class DatasetCatalog
{
    private static readonly (string Dataset, string Table)[] Pairs =
    {
        ("people-db-races", "people_db_race"),
        ("people-db-people", "people_db_person"),
        ("people-db-schools", "people_db_school"),
        ("courts", "search_court"),
        ("people-db-positions", "people_db_position"),
        ("originating-court-information", "search_originatingcourtinformation"),
        ("fjc-integrated-database", "recap_fjcintegrateddatabase"),
        ("opinion-clusters", "search_opinioncluster"),
        ("dockets", "search_docket"),
        ("search-opinioncluster-panel", "search_opinioncluster_panel"),
        ("opinions", "search_opinion"),
        ("search-opinioncluster-non-participating-judges", "search_opinioncluster_non_participating_judges"),
        ("search-opinion-joined-by", "search_opinion_joined_by"),
        ("courthouses", "search_courthouse"),
        ("court-appeals-to", "search_court_appeals_to"),
        ("citation-map", "search_opinionscited"),
        ("citations", "search_citation"),
        ("parentheticals", "search_parenthetical"),
        ("oral-arguments", "audio_audio"),
        ("people-db-retention-events", "people_db_retentionevent"),
        ("people-db-educations", "people_db_education"),
        ("people-db-political-affiliations", "people_db_politicalaffiliation"),
        ("people-db-person-race", "people_db_person_race"),
        ("financial-disclosures", "disclosures_financialdisclosure"),
        ("financial-disclosure-investments", "disclosures_investment"),
        ("financial-disclosures-positions", "disclosures_position"),
        ("financial-disclosures-agreements", "disclosures_agreement"),
        ("financial-disclosures-non-investment-income", "disclosures_noninvestmentincome"),
        ("financial-disclosures-spousal-income", "disclosures_spouseincome"),
        ("financial-disclosures-reimbursements", "disclosures_reimbursement"),
        ("financial-disclosures-gifts", "disclosures_gift"),
        ("financial-disclosures-debts", "disclosures_debt"),
    };

    private static readonly Dictionary<string, string> TableByDataset =
        Pairs.ToDictionary(p => p.Dataset, p => p.Table, StringComparer.OrdinalIgnoreCase);

    private static readonly Dictionary<string, string> DatasetByTable =
        Pairs.ToDictionary(p => p.Table, p => p.Dataset, StringComparer.OrdinalIgnoreCase);

    /// <summary>Every known dataset and its table, in the publisher's order.</summary>
    public static IReadOnlyList<(string Dataset, string Table)> All => Pairs;

    public static string? TableFor(string dataset) => TableByDataset.TryGetValue(dataset, out var t) ? t : null;

    public static string? DatasetFor(string table) => DatasetByTable.TryGetValue(table, out var d) ? d : null;

    /// <summary>A data file named after its table (older dumps) gets its dataset's name.</summary>
    internal static string NormalizeDataset(string name, EntryKind kind)
        => kind == EntryKind.Data && DatasetByTable.TryGetValue(name, out var dataset) ? dataset : name;
}
