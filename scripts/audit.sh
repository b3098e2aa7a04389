#!/usr/bin/env bash
# Known vulnerabilities in what we depend on: pip-audit for the Python packages (.venv, from
# uv.lock), npm audit for the web app and the test peers. A finding fails the run: fix it (a
# newer version; for npm an `overrides` entry), or, for a Python advisory that cannot affect us,
# justify it in scripts/audit-exceptions.txt (the advisory id, then why, one per line).
# Ruff's S rules (bandit's checks) run with `make lint`.
#
# Both ask an advisory service on the network (PyPI's per-version JSON, the npm registry's bulk
# endpoint). Where the network lets neither through, the run says so loudly and does not fail:
# an audit that could not look is not a finding, and CI on an open network still runs it.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
ignore_args=()
if [ -f scripts/audit-exceptions.txt ]; then
  while read -r id _; do
    [ -n "$id" ] && [ "${id:0:1}" != "#" ] && ignore_args+=(--ignore-vuln "$id")
  done < scripts/audit-exceptions.txt
fi

report=$(.venv/bin/pip-audit --skip-editable --progress-spinner off -f json "${ignore_args[@]}" 2>/dev/null)
code=$?
summary=$(printf '%s' "$report" | python3 -c '
import json, sys
try:
    deps = json.load(sys.stdin)["dependencies"]
except Exception:
    print("unreadable"); sys.exit()
audited = [d for d in deps if "skip_reason" not in d]
vulns = [(d["name"], d["version"], v["id"]) for d in audited for v in d.get("vulns", [])]
print(len(deps), len(audited), len(vulns))
for name, version, vuln in vulns:
    print(f"  {name} {version}: {vuln}")
')
read -r total audited found <<<"$(printf '%s' "$summary" | head -n 1)"
if [ "$code" -ne 0 ] && [ "${found:-0}" != "0" ]; then
  echo "pip-audit: known vulnerabilities:"; printf '%s\n' "$summary" | tail -n +2; status=1
elif [ "${audited:-0}" = "0" ]; then
  echo "pip-audit: WARNING: the advisory service could not be reached for any of ${total:-?} packages; nothing was audited here"
else
  echo "pip-audit: ${audited} of ${total} packages audited, no known vulnerability"
fi

for project in src/frontend tests/peers; do
  output=$(npm audit --prefix "$project" --omit=optional --audit-level=low 2>&1)
  code=$?
  if [ "$code" -eq 0 ]; then
    echo "npm audit ($project): no known vulnerability"
  elif printf '%s' "$output" | grep -q "audit endpoint returned an error\|ENOTFOUND\|ECONNREFUSED\|ETIMEDOUT"; then
    echo "npm audit ($project): WARNING: the registry's advisory endpoint could not be reached; nothing was audited here"
  else
    printf '%s\n' "$output" | tail -n 30; status=1
  fi
done
exit $status
