-- Fills the source database with generated rows that carry the hard cases of real data.
-- Parameters are substituted by the publisher: {courts}, {people}, {dockets}, {words}.
CREATE SCHEMA fixture;
CREATE TABLE fixture.vocab AS
    SELECT array_agg(translate(substr(md5(i::text), 1, 2 + i % 9), '0123456789', 'aeiounrstl') ORDER BY i) AS a
    FROM generate_series(1, 4096) AS i;
CREATE TABLE fixture.hard (id int PRIMARY KEY, s text NOT NULL);
INSERT INTO fixture.hard VALUES
    (0, 'plain words'),
    (1, E'first line\nsecond line\nthird line'),
    (2, 'He said "objection," and sat down.'),
    (3, E'C:\\path\\to\\file and a trailing backslash \\'),
    (4, 'commas, more commas, and ,leading'),
    (5, 'OCR `backticks` and a lone ` tick'),
    (6, 'naïve café – São Paulo – Zürich – 東京地方裁判所 – Ωμέγα – 😀'),
    (7, E'\\.'),
    (8, E'mixed: "a",\n`b`\\c, ''d''\r\nend'),
    (9, E'tab\there and a quote at the end"'),
    (10, '"'),
    (11, E'\\N is not null'),
    (12, ' leading and trailing spaces ');
CREATE FUNCTION fixture.hard(i bigint) RETURNS text LANGUAGE sql STABLE AS
    $$ SELECT s FROM fixture.hard WHERE id = i % 13 $$;
-- The vocabulary is read into a variable once per call: a subscript of the stored (toasted) array would
-- decompress all 4096 words for every word drawn.
CREATE FUNCTION fixture.words(n int) RETURNS text LANGUAGE plpgsql VOLATILE AS
    $$ DECLARE a text[] := (SELECT v.a FROM fixture.vocab AS v);
       BEGIN
           RETURN coalesce((SELECT string_agg(a[1 + floor(random() * 4096)::int], ' ') FROM generate_series(1, greatest(n, 0))), '');
       END $$;
CREATE FUNCTION fixture.ts(i bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
    $$ SELECT timestamptz '2001-02-03 04:05:06.789012+00' + i * interval '7 hours 13 minutes 17.123457 seconds' $$;

INSERT INTO public.search_court
SELECT 'c' || i, fixture.ts(i), i % 2 = 0, i % 3 = 0, false, i,
       'Ct. ' || i, 'Court ' || i, fixture.hard(i) || ' Court of Appeals ' || i, 'https://example.org/c' || i,
       CASE WHEN i % 4 = 0 THEN NULL ELSE date '1789-09-24' + i END, NULL, 'F', fixture.hard(i + 3),
       CASE WHEN i % 5 = 0 THEN NULL ELSE i END, lpad((i % 100)::text, 2, '0'),
       CASE WHEN i % 3 = 0 THEN NULL ELSE i % 2 = 0 END, CASE WHEN i % 2 = 0 THEN NULL ELSE fixture.ts(i * 3) END,
       CASE WHEN i % 6 = 0 THEN '' ELSE 'OA,OP' END, CASE WHEN i > 1 THEN 'c1' END
FROM generate_series(1, {courts}) AS i;

INSERT INTO public.people_db_person
SELECT i, fixture.ts(i), fixture.ts(i + 1), CASE WHEN i % 3 = 0 THEN NULL ELSE 1000 + i END, 'judge-' || i,
       (ARRAY['José', 'Zoë', 'Ann', 'Öz', 'D''Arcy'])[1 + i % 5], CASE WHEN i % 2 = 0 THEN '' ELSE 'Q.' END,
       'Judge' || i, CASE WHEN i % 7 = 0 THEN 'Jr.' ELSE '' END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE date '1940-01-01' + i * 11 END, '%Y-%m-%d', NULL, '',
       'Springfield', 'IL', '', '', CASE WHEN i % 2 = 0 THEN 'f' ELSE 'm' END,
       CASE WHEN i > 5 AND i % 10 = 0 THEN i - 5 END, '', i % 2 = 0,
       CASE WHEN i % 3 = 0 THEN NULL ELSE i * 1234.5 END, CASE WHEN i % 3 = 0 THEN NULL ELSE 'e' || i END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE fixture.ts(i * 2) END, 'United States', ''
FROM generate_series(1, {people}) AS i;

INSERT INTO public.search_docket
SELECT i, fixture.ts(i), fixture.ts(i + 7), CASE WHEN i % 3 = 0 THEN date '2000-01-01' + i END, NULL, NULL,
       'Short ' || i, fixture.hard(i) || ' v. State ' || i, 'In re ' || fixture.hard(i + 1), 'case-' || i,
       CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE i || '-cv-' || (i * 7) END,
       NULL, i % 50 = 0, 'c' || (1 + i % {courts}), NULL, NULL,
       CASE WHEN i % 2 = 0 THEN 1 + i % {people} END, fixture.hard(i + 2),
       date '1990-01-01' + (i % 9000), NULL, NULL, '', '', '', '', fixture.hard(i + 4),
       CASE WHEN i % 3 = 0 THEN NULL ELSE (100000 + i)::text END, NULL, i % 7, '', '', i % 1000,
       CASE WHEN i % 2 = 0 THEN fixture.ts(i * 5) END, CASE WHEN i % 9 = 0 THEN 'c1' END, '', '', '', '', NULL,
       '', '', NULL, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END, CASE WHEN i % 4 = 0 THEN NULL ELSE 0 END,
       (i % 99999)::text, NULL, NULL, '', '', '', '', NULL
FROM generate_series(1, {dockets}) AS i;

INSERT INTO public.search_opinioncluster
SELECT i, fixture.hard(i + 5), fixture.ts(i), fixture.ts(i + 3), date '1950-01-01' + (i % 25000),
       CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'cluster-' || i END,
       'Short ' || i, fixture.hard(i) || ' v. State ' || i, '', '', 'C', fixture.hard(i + 6), '', '', '',
       fixture.words(5 + i % 20), i % 100, 'Published', NULL, false, i,
       NULL, CASE WHEN i % 2 = 0 THEN 5 END, CASE WHEN i % 2 = 0 THEN 4 END, i % 10 = 0,
       '', '', fixture.hard(i + 7), '', '', '', '', fixture.words(i % 10), '', '', ''
FROM generate_series(1, {dockets}) AS i;

INSERT INTO public.search_opinion
SELECT i, fixture.ts(i), fixture.ts(i + 1), '020lead', md5(i::text) || 'abcdefgh',
       CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'https://example.org/o/' || i || '.pdf' END,
       'pdf/' || i || '.pdf', fixture.hard(i) || E'\n' || fixture.words({words}),
       CASE WHEN i % 2 = 0 THEN '<p>' || fixture.hard(i + 8) || '</p>' ELSE '' END, '', '', '', i % 5 = 0,
       CASE WHEN i % 2 = 0 THEN 1 + i % {people} END, i, i % 11 = 0, CASE WHEN i % 3 = 0 THEN NULL ELSE i % 40 END,
       fixture.hard(i + 9), '', '', '', CASE WHEN i % 2 = 0 THEN i END
FROM generate_series(1, {dockets}) AS i;

INSERT INTO public.search_opinionscited
SELECT (i - 1) * 2 + k, 1 + (i + k) % {dockets}, i, 1 + (i * k) % 5
FROM generate_series(1, {dockets}) AS i, generate_series(1, 2) AS k;

INSERT INTO public.search_citation
SELECT i, 1 + i % 500, (ARRAY['U.S.', 'F.3d', 'S. Ct.', 'Cal. App. 4th', 'Mass.'])[1 + i % 5], (100 + i)::text, 1 + i % 8, i
FROM generate_series(1, {dockets}) AS i;

INSERT INTO public.search_opinioncluster_panel
SELECT i, i, 1 + i % {people}
FROM generate_series(1, {dockets}) AS i;
