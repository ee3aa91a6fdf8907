#!/usr/bin/env bash
# The OpenAPI document (src/server/openapi.json) is valid JSON, OpenAPI 3.x, and documents every
# route of src/server/routes.def with its method, and the WebSocket. Reads the source tree only.
. "$(dirname "$0")/../lib.sh"

doc=$ROOT/src/server/openapi.json
routes=$ROOT/src/server/routes.def

if ! command -v jq >/dev/null; then
    skip "openapi.json checks" "jq is not installed"
    done_testing
    exit
fi

jq -e 'type == "object"' "$doc" >/dev/null 2>"$TMP/err"
tap $? "openapi.json parses as a JSON object" || diag "$(cat "$TMP/err")"
jq -e '.openapi | type == "string" and test("^3\\.[0-9]+\\.[0-9]+$")' "$doc" >/dev/null
tap $? "it is an OpenAPI 3.x document" || diag "openapi: $(jq -r .openapi "$doc" 2>&1)"
jq -e '(.info.title | type == "string") and (.info.version | type == "string")
       and (.paths | type == "object")' "$doc" >/dev/null
tap $? "it has info.title, info.version and paths"

# Every ROUTE("METHOD", "/path", ...) row: the path with that method, in lower case.
sed -n 's/^[[:space:]]*ROUTE("\([A-Z]*\)",[[:space:]]*"\([^"]*\)".*/\1 \2/p' "$routes" \
    >"$TMP/routes"
n_rows=$(grep -c '^[[:space:]]*ROUTE(' "$routes")
[ -s "$TMP/routes" ] && [ "$(wc -l <"$TMP/routes")" = "$n_rows" ]
tap $? "routes.def parses ($n_rows rows)" || diag "parsed: $(cat "$TMP/routes")"
echo "GET /api/v1/code/interactive" >>"$TMP/routes"
echo "GET /api/v2/connect" >>"$TMP/routes" # Piston's WebSocket
while read -r method path; do
    m=$(tr 'A-Z' 'a-z' <<<"$method")
    jq -e --arg p "$path" --arg m "$m" '.paths[$p][$m] | type == "object"' "$doc" >/dev/null
    tap $? "$method $path is documented"
done <"$TMP/routes"

# And nothing documented that the server does not answer.
jq -r '.paths | to_entries[] | .key as $p | .value | keys[]
       | select(IN("get","put","post","delete","patch","head","options","trace"))
       | "\(ascii_upcase) \($p)"' "$doc" | sort >"$TMP/documented"
sort -u "$TMP/routes" >"$TMP/served"
extra=$(comm -23 "$TMP/documented" "$TMP/served")
[ -z "$extra" ]
tap $? "every documented operation is a route" || diag "not in routes.def: $extra"

jq -e '.paths["/api/v1/code/interactive"].get["x-websocket"] == true' "$doc" >/dev/null
tap $? "the WebSocket is marked x-websocket"
jq -e '.paths["/api/v1/code/runs/{id}/events"].get.responses["200"].content
       | has("text/event-stream")' "$doc" >/dev/null
tap $? "the event stream is text/event-stream"
jq -e '.components.securitySchemes.bearer.scheme == "bearer"' "$doc" >/dev/null
tap $? "bearer authentication is declared"
jq -e '.components.schemas | has("ExecuteRequest") and has("Result") and has("SandboxResult")
       and has("Error") and has("Run") and has("HistoryPage") and has("Language")
       and has("Stats")' "$doc" >/dev/null
tap $? "the main schemas are defined"

# Every local $ref points at something that exists.
bad=$(jq -r '. as $d | [.. | objects | .["$ref"]? | strings] | unique[]
             | select(startswith("#/") and
                      ((ltrimstr("#/") | split("/")) as $k | $d | getpath($k)) == null)' "$doc")
[ -z "$bad" ]
tap $? "every \$ref resolves" || diag "dangling: $bad"

if python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    python3 -c 'import json, sys
from openapi_spec_validator import validate
validate(json.load(open(sys.argv[1])))' "$doc" >"$TMP/err" 2>&1
    tap $? "openapi-spec-validator accepts it" || diag "$(tail -5 "$TMP/err")"
else
    skip "openapi-spec-validator accepts it" "python3 openapi_spec_validator is not installed"
fi

done_testing
