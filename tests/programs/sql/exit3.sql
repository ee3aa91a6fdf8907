-- SQL has no exit status; the sqlite3 shell's .exit gives one, and .output redirects.
.output /dev/stderr
SELECT 'bye';
.exit 3
