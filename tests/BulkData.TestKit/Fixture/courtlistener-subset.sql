-- A subset of CourtListener's schema: eight of its tables with their real names, columns, keys,
-- foreign keys and a selection of indexes, in pg_dump's order (tables, then keys, indexes and
-- foreign keys). The fixture publisher creates its source database from this script and writes it,
-- dressed as a real dump, as schema-<date>.sql.

CREATE TABLE public.search_court (
    id character varying(15) NOT NULL,
    date_modified timestamp with time zone NOT NULL,
    in_use boolean NOT NULL,
    has_opinion_scraper boolean NOT NULL,
    has_oral_argument_scraper boolean NOT NULL,
    "position" double precision NOT NULL,
    citation_string character varying(100) NOT NULL,
    short_name character varying(100) NOT NULL,
    full_name character varying(200) NOT NULL,
    url character varying(500) NOT NULL,
    start_date date,
    end_date date,
    jurisdiction character varying(3) NOT NULL,
    notes text NOT NULL,
    pacer_court_id smallint,
    fjc_court_id character varying(3) NOT NULL,
    pacer_has_rss_feed boolean,
    date_last_pacer_contact timestamp with time zone,
    pacer_rss_entry_types text NOT NULL,
    parent_court_id character varying(15),
    CONSTRAINT search_court_pacer_court_id_check CHECK ((pacer_court_id >= 0))
);

CREATE TABLE public.people_db_person (
    id integer NOT NULL,
    date_created timestamp with time zone NOT NULL,
    date_modified timestamp with time zone NOT NULL,
    fjc_id integer,
    slug character varying(158) NOT NULL,
    name_first character varying(50) NOT NULL,
    name_middle character varying(50) NOT NULL,
    name_last character varying(50) NOT NULL,
    name_suffix character varying(5) NOT NULL,
    date_dob date,
    date_granularity_dob character varying(15) NOT NULL,
    date_dod date,
    date_granularity_dod character varying(15) NOT NULL,
    dob_city character varying(50) NOT NULL,
    dob_state character varying(2) NOT NULL,
    dod_city character varying(50) NOT NULL,
    dod_state character varying(2) NOT NULL,
    gender character varying(2) NOT NULL,
    is_alias_of_id integer,
    religion character varying(30) NOT NULL,
    has_photo boolean NOT NULL,
    ftm_total_received double precision,
    ftm_eid character varying(30),
    date_completed timestamp with time zone,
    dob_country character varying(50) NOT NULL,
    dod_country character varying(50) NOT NULL
);

CREATE TABLE public.search_docket (
    id integer NOT NULL,
    date_created timestamp with time zone NOT NULL,
    date_modified timestamp with time zone NOT NULL,
    date_argued date,
    date_reargued date,
    date_reargument_denied date,
    case_name_short text NOT NULL,
    case_name text NOT NULL,
    case_name_full text NOT NULL,
    slug character varying(75) NOT NULL,
    docket_number text,
    date_blocked date,
    blocked boolean NOT NULL,
    court_id character varying(15) NOT NULL,
    date_cert_denied date,
    date_cert_granted date,
    assigned_to_id integer,
    cause character varying(2000) NOT NULL,
    date_filed date,
    date_last_filing date,
    date_terminated date,
    filepath_ia character varying(1000) NOT NULL,
    filepath_local character varying(1000) NOT NULL,
    jurisdiction_type character varying(100) NOT NULL,
    jury_demand character varying(500) NOT NULL,
    nature_of_suit character varying(1000) NOT NULL,
    pacer_case_id character varying(100),
    referred_to_id integer,
    source smallint NOT NULL,
    assigned_to_str text NOT NULL,
    referred_to_str text NOT NULL,
    view_count integer NOT NULL,
    date_last_index timestamp with time zone,
    appeal_from_id character varying(15),
    appeal_from_str text NOT NULL,
    appellate_case_type_information text NOT NULL,
    appellate_fee_status text NOT NULL,
    panel_str text NOT NULL,
    originating_court_information_id integer,
    mdl_status character varying(100) NOT NULL,
    filepath_ia_json character varying(1000) NOT NULL,
    ia_date_first_change timestamp with time zone,
    ia_needs_upload boolean,
    ia_upload_failure_count smallint,
    docket_number_core character varying(20) NOT NULL,
    idb_data_id integer,
    federal_defendant_number smallint,
    federal_dn_case_type character varying(6) NOT NULL,
    federal_dn_judge_initials_assigned character varying(5) NOT NULL,
    federal_dn_judge_initials_referred character varying(5) NOT NULL,
    federal_dn_office_code character varying(3) NOT NULL,
    parent_docket_id integer
);

CREATE TABLE public.search_opinioncluster (
    id integer NOT NULL,
    judges text NOT NULL,
    date_created timestamp with time zone NOT NULL,
    date_modified timestamp with time zone NOT NULL,
    date_filed date NOT NULL,
    slug character varying(75),
    case_name_short text NOT NULL,
    case_name text NOT NULL,
    case_name_full text NOT NULL,
    scdb_id character varying(10) NOT NULL,
    source character varying(10) NOT NULL,
    procedural_history text NOT NULL,
    attorneys text NOT NULL,
    nature_of_suit text NOT NULL,
    posture text NOT NULL,
    syllabus text NOT NULL,
    citation_count integer NOT NULL,
    precedential_status character varying(50) NOT NULL,
    date_blocked date,
    blocked boolean NOT NULL,
    docket_id integer NOT NULL,
    scdb_decision_direction integer,
    scdb_votes_majority integer,
    scdb_votes_minority integer,
    date_filed_is_approximate boolean NOT NULL,
    correction text NOT NULL,
    cross_reference text NOT NULL,
    disposition text NOT NULL,
    filepath_json_harvard character varying(1000) NOT NULL,
    headnotes text NOT NULL,
    history text NOT NULL,
    other_dates text NOT NULL,
    summary text NOT NULL,
    arguments text NOT NULL,
    headmatter text NOT NULL,
    filepath_pdf_harvard character varying(100) NOT NULL
);

CREATE TABLE public.search_opinion (
    id integer NOT NULL,
    date_created timestamp with time zone NOT NULL,
    date_modified timestamp with time zone NOT NULL,
    type character varying(20) NOT NULL,
    sha1 character varying(40) NOT NULL,
    download_url character varying(500),
    local_path character varying(100) NOT NULL,
    plain_text text NOT NULL,
    html text NOT NULL,
    html_lawbox text NOT NULL,
    html_columbia text NOT NULL,
    html_with_citations text NOT NULL,
    extracted_by_ocr boolean NOT NULL,
    author_id integer,
    cluster_id integer NOT NULL,
    per_curiam boolean NOT NULL,
    page_count integer,
    author_str text NOT NULL,
    joined_by_str text NOT NULL,
    xml_harvard text NOT NULL,
    html_anon_2020 text NOT NULL,
    ordering_key integer
);

CREATE TABLE public.search_opinionscited (
    id integer NOT NULL,
    cited_opinion_id integer NOT NULL,
    citing_opinion_id integer NOT NULL,
    depth integer NOT NULL
);

CREATE TABLE public.search_citation (
    id integer NOT NULL,
    volume smallint NOT NULL,
    reporter text NOT NULL,
    page text NOT NULL,
    type smallint NOT NULL,
    cluster_id integer NOT NULL
);

CREATE TABLE public.search_opinioncluster_panel (
    id integer NOT NULL,
    opinioncluster_id integer NOT NULL,
    person_id integer NOT NULL
);

ALTER TABLE ONLY public.people_db_person
    ADD CONSTRAINT people_db_person_fjc_id_key UNIQUE (fjc_id);

ALTER TABLE ONLY public.people_db_person
    ADD CONSTRAINT people_db_person_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_citation
    ADD CONSTRAINT search_citation_cluster_id_7a668830aad411f5_uniq UNIQUE (cluster_id, volume, reporter, page);

ALTER TABLE ONLY public.search_citation
    ADD CONSTRAINT search_citation_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_court
    ADD CONSTRAINT search_court_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_court
    ADD CONSTRAINT search_court_position_key UNIQUE ("position");

ALTER TABLE ONLY public.search_docket
    ADD CONSTRAINT search_docket_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_opinion
    ADD CONSTRAINT search_opinion_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_opinioncluster_panel
    ADD CONSTRAINT search_opinioncluster_panel_opinioncluster_id_judge_id_key UNIQUE (opinioncluster_id, person_id);

ALTER TABLE ONLY public.search_opinioncluster_panel
    ADD CONSTRAINT search_opinioncluster_panel_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_opinioncluster
    ADD CONSTRAINT search_opinioncluster_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.search_opinionscited
    ADD CONSTRAINT search_opinionscited_citing_opinion_id_7165e96b2aed974f_uniq UNIQUE (citing_opinion_id, cited_opinion_id);

ALTER TABLE ONLY public.search_opinionscited
    ADD CONSTRAINT search_opinionscited_pkey PRIMARY KEY (id);

CREATE INDEX people_db_person_2dbcba41 ON public.people_db_person USING btree (slug);

CREATE INDEX people_db_person_c943ec03 ON public.people_db_person USING btree (name_last);

CREATE INDEX search_citation_a97b1c12 ON public.search_citation USING btree (cluster_id);

CREATE INDEX search_citation_volume_ae340b5b02e8912_idx ON public.search_citation USING btree (volume, reporter, page);

CREATE INDEX search_court_parent_court_id_51ba1d28 ON public.search_court USING btree (parent_court_id);

CREATE INDEX search_docket_7a46e69c ON public.search_docket USING btree (court_id);

CREATE INDEX search_docket_695b63bb ON public.search_docket USING btree (appeal_from_id);

CREATE INDEX search_docket_c69e55a4 ON public.search_docket USING btree (date_created);

CREATE INDEX search_opinion_4f331e2f ON public.search_opinion USING btree (author_id);

CREATE INDEX search_opinion_a97b1c12 ON public.search_opinion USING btree (cluster_id);

CREATE INDEX search_opinion_74a89174 ON public.search_opinion USING btree (sha1);

CREATE INDEX search_opinioncluster_1427d4ab ON public.search_opinioncluster USING btree (docket_id);

CREATE INDEX search_opinioncluster_98cc5f59 ON public.search_opinioncluster USING btree (date_filed);

CREATE INDEX search_opinionscited_cited_opinion_id_idx ON public.search_opinionscited USING btree (cited_opinion_id);

CREATE INDEX search_opinioncluster_panel_person_id_idx ON public.search_opinioncluster_panel USING btree (person_id);

ALTER TABLE ONLY public.search_court
    ADD CONSTRAINT search_court_parent_court_id_51ba1d28_fk_search_court_id FOREIGN KEY (parent_court_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.people_db_person
    ADD CONSTRAINT people_db_person_is_alias_of_id_fk_people_db_person_id FOREIGN KEY (is_alias_of_id) REFERENCES public.people_db_person(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_docket
    ADD CONSTRAINT search_docket_court_id_fk_search_court_id FOREIGN KEY (court_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_docket
    ADD CONSTRAINT search_docket_appeal_from_id_fk_search_court_id FOREIGN KEY (appeal_from_id) REFERENCES public.search_court(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_docket
    ADD CONSTRAINT search_docket_assigned_to_id_fk_people_db_person_id FOREIGN KEY (assigned_to_id) REFERENCES public.people_db_person(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinioncluster
    ADD CONSTRAINT search_opinioncluster_docket_id_fk_search_docket_id FOREIGN KEY (docket_id) REFERENCES public.search_docket(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinion
    ADD CONSTRAINT search_opinion_cluster_id_fk_search_opinioncluster_id FOREIGN KEY (cluster_id) REFERENCES public.search_opinioncluster(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinion
    ADD CONSTRAINT search_opinion_author_id_fk_people_db_person_id FOREIGN KEY (author_id) REFERENCES public.people_db_person(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinionscited
    ADD CONSTRAINT search_opinionscited_cited_opinion_id_fk_search_opinion_id FOREIGN KEY (cited_opinion_id) REFERENCES public.search_opinion(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinionscited
    ADD CONSTRAINT search_opinionscited_citing_opinion_id_fk_search_opinion_id FOREIGN KEY (citing_opinion_id) REFERENCES public.search_opinion(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_citation
    ADD CONSTRAINT search_citation_cluster_id_fk_search_opinioncluster_id FOREIGN KEY (cluster_id) REFERENCES public.search_opinioncluster(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinioncluster_panel
    ADD CONSTRAINT search_opinioncluster_panel_opinioncluster_id_fk FOREIGN KEY (opinioncluster_id) REFERENCES public.search_opinioncluster(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.search_opinioncluster_panel
    ADD CONSTRAINT search_opinioncluster_panel_person_id_fk_people_db_person_id FOREIGN KEY (person_id) REFERENCES public.people_db_person(id) DEFERRABLE INITIALLY DEFERRED;
