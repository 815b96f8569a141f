#!/usr/bin/env bash
# The whole test suite: installs what the tests need, starts the services they use, and runs every test.
# Every step runs even when an earlier one failed, so one run shows every problem; the last line is
# `N passed, N failed[, N skipped]` and the exit code is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

CACHE=${STUDENTPERFORMANCE_CACHE:-/var/cache/studentperformance}
RESULTS=$repo/TestResults
ACTION_VALIDATOR_VERSION=0.6.0

# The tests build images through Debian's docker client (the one with BuildKit) from the local base images.
# A caller that can pull the official images sets SDK_IMAGE and RUNTIME_IMAGE to empty (GitHub's runners do):
# the tests then pass no build arg and the Dockerfiles' pinned defaults apply.
export DOCKER=${DOCKER:-/usr/bin/docker}
export DOCKER_BUILDKIT=1
export SDK_IMAGE=${SDK_IMAGE-local/sdk:10.0}
export RUNTIME_IMAGE=${RUNTIME_IMAGE-local/aspnet:10.0}
export REGISTRY_IMAGE=${REGISTRY_IMAGE-local/registry:2}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

failed_steps=()
step() {
  local name=$1
  shift
  printf '\n=== %s\n' "$name"
  if ! "$@"; then
    printf '=== %s: FAILED\n' "$name"
    failed_steps+=("$name")
    return 1
  fi
}

lint_workflows() {
  local tools=$CACHE/tools/npm
  local validator=$tools/node_modules/.bin/action-validator
  if [[ ! -x $validator ]] || ! grep -q "\"version\": \"$ACTION_VALIDATOR_VERSION\"" \
    "$tools/node_modules/@action-validator/cli/package.json" 2>/dev/null; then
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "@action-validator/cli@$ACTION_VALIDATOR_VERSION" || return 1
  fi
  local file rc=0
  for file in .github/workflows/*.y*ml; do
    "$validator" "$file" && echo "$file: valid" || rc=1
    # Actions are pinned to commit SHAs: a moved tag must not change what runs with our AWS role.
    if grep -nE '^\s*(-\s*)?uses:' "$file" | grep -vE 'uses:\s*[^@ ]+@[0-9a-f]{40}(\s|$)'; then
      echo "$file: the uses: lines above are not pinned to a commit SHA"
      rc=1
    fi
  done
  return $rc
}

# The repository is self-contained: no tracked file may read the sibling folder that only our machines have.
# The pattern is assembled so that this script does not match itself.
check_self_contained() {
  local needle='..''/shared'
  if git grep -nF -- "$needle"; then
    echo "the tracked files above reference $needle; commit what they read under data/ instead"
    return 1
  fi
  echo "no tracked file references $needle"
}

lint_compose() {
  docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml: valid" &&
    docker-compose -f docker-compose.yml --profile local config -q && echo "docker-compose.yml (profile local): valid"
}

run_tests() {
  local project rc=0
  for project in $(grep -o 'tests/[^"]*\.csproj' StudentPerformance.slnx); do
    local name
    name=$(basename "$project" .csproj)
    printf -- '--- %s\n' "$name"
    # Each project builds itself (incremental after the solution build), so one project that does not compile
    # does not hide the results of the others.
    dotnet test "$project" --nologo \
      --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" \
      --blame-hang-timeout 15m || rc=1
    [[ -f $RESULTS/$name.trx ]] || { echo "$name: no results (did not run)"; failed_steps+=("$name: no results"); rc=1; }
  done
  return $rc
}

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

if step "setup host" ./scripts/setup-host.sh && [[ "$SDK_IMAGE $RUNTIME_IMAGE $REGISTRY_IMAGE" == *local/* ]]; then
  step "base images" ./scripts/make-base-images.sh
fi
step "self-contained" check_self_contained
step "lint workflows" lint_workflows
step "lint compose" lint_compose
# Locked: the restore may not change a committed packages.lock.json (after changing a package, run a plain
# `dotnet restore` and commit the lock files it updates).
step "restore (locked)" dotnet restore StudentPerformance.slnx --locked-mode
step "build" dotnet build StudentPerformance.slnx --nologo --no-restore -clp:ErrorsOnly
step "format" dotnet format StudentPerformance.slnx --verify-no-changes --no-restore
step "tests" run_tests

# Counts and failure details come from the trx files, so the summary matches what the runner recorded.
summary=$(/usr/bin/python3 - "$RESULTS" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    root = ET.parse(path).getroot()
    for r in root.iterfind(".//t:UnitTestResult", ns):
        outcome = r.get("outcome")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("NotExecuted", "Inconclusive"):
            skipped += 1
        else:
            failed += 1
            message = r.findtext(".//t:Message", default="", namespaces=ns).strip().splitlines()
            print(f"FAILED {r.get('testName')}: {message[0] if message else outcome}", file=sys.stderr)
print(f"{passed} {failed} {skipped}")
EOF
)
read -r passed failed skipped <<<"${summary:-0 0 0}"

if ((${#failed_steps[@]} > 0)); then
  printf '\nfailed steps: %s\n' "$(IFS=,; echo "${failed_steps[*]}" | sed 's/,/, /g')"
fi
line="$passed passed, $failed failed"
((skipped > 0)) && line+=", $skipped skipped"
echo "$line"
((failed == 0 && ${#failed_steps[@]} == 0))
