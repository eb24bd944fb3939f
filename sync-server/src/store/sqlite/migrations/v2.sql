-- The reference data of `fieldloop-server import`, and the codes of tasks.
-- References are checked at commit (deferred), so one import may write
-- its rows in any order.
CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL
) STRICT;

CREATE TABLE industries (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL
) STRICT;

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('township_squad', 'county_team'))
) STRICT;

CREATE TABLE team_departments (
    team TEXT NOT NULL REFERENCES teams(id) DEFERRABLE INITIALLY DEFERRED,
    department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (team, department)
) STRICT;

CREATE TABLE subjects (
    uscc TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    industry TEXT NOT NULL REFERENCES industries(code) DEFERRABLE INITIALLY DEFERRED,
    risk_class TEXT NOT NULL CHECK (risk_class IN ('A', 'B', 'C', 'D')),
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    legal_rep TEXT NOT NULL
) STRICT;
CREATE INDEX subjects_industry ON subjects (industry, risk_class);

CREATE TABLE items (
    id TEXT PRIMARY KEY NOT NULL,
    department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED,
    title TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    requires_evidence INTEGER NOT NULL CHECK (requires_evidence IN (0, 1))
) STRICT;

-- an item without rows here applies to every industry
CREATE TABLE item_industries (
    item TEXT NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED,
    industry TEXT NOT NULL REFERENCES industries(code) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (item, industry)
) STRICT;

CREATE TABLE handbooks (
    industry TEXT PRIMARY KEY NOT NULL REFERENCES industries(code) DEFERRABLE INITIALLY DEFERRED,
    lead_department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED
) STRICT;

CREATE TABLE handbook_departments (
    handbook TEXT NOT NULL REFERENCES handbooks(industry) DEFERRABLE INITIALLY DEFERRED,
    department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (handbook, department)
) STRICT;

CREATE TABLE handbook_items (
    handbook TEXT NOT NULL REFERENCES handbooks(industry) DEFERRABLE INITIALLY DEFERRED,
    item TEXT NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (handbook, item)
) STRICT;

-- the human code and the public verify code of each task, unique on the server
CREATE TABLE task_codes (
    task_id TEXT PRIMARY KEY NOT NULL REFERENCES tasks(id) DEFERRABLE INITIALLY DEFERRED,
    code TEXT NOT NULL UNIQUE,
    verify_code TEXT NOT NULL UNIQUE
) STRICT;
