set -e
echo "before" >&2
false
echo "never"
