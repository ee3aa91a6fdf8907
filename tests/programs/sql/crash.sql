CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO users VALUES (1, 'ada');
INSERT INTO users VALUES (1, 'bob');
SELECT 'never reached';
