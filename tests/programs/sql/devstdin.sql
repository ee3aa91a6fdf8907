CREATE TABLE input(content BLOB);
INSERT INTO input SELECT readfile('/dev/stdin');
SELECT CAST(content AS TEXT) FROM input;
