-- The version of the directory the tablets receive (names of departments,
-- teams and inspectors): any change to those tables moves it on, so a
-- tablet that saw it in a sync answer knows when to fetch the directory.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO directory_version (id, version) VALUES (1, 1);

CREATE TRIGGER departments_insert AFTER INSERT ON departments
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER departments_update AFTER UPDATE ON departments
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER departments_delete AFTER DELETE ON departments
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER teams_insert AFTER INSERT ON teams
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER teams_update AFTER UPDATE ON teams
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER teams_delete AFTER DELETE ON teams
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER inspectors_insert AFTER INSERT ON inspectors
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER inspectors_update AFTER UPDATE ON inspectors
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER inspectors_delete AFTER DELETE ON inspectors
BEGIN UPDATE directory_version SET version = version + 1; END;

-- The departments a supervisor acts for besides their teams, as a JSON
-- array of department codes: they see every task that includes one.
ALTER TABLE console_users ADD COLUMN departments TEXT NOT NULL DEFAULT '[]';
