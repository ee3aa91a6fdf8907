-- The program's arguments are the rows of the table argv, in order (as on Piston).
SELECT arg FROM argv ORDER BY rowid;
