echo bye >&2
exit 3
