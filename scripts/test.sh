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
DYNALITE_VERSION=4.0.0

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

# infra/'s npm tooling (CDK CLI, cdk-nag, cfn-guard, GitHub's workflow parser), installed from its lock file and
# reinstalled only when the lock file changes.
infra_tools() {
  local stamp=infra/node_modules/.package-lock.sha256 want
  want=$(sha256sum infra/package-lock.json | cut -d' ' -f1)
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  npm ci --prefix infra --no-audit --no-fund --loglevel=error && echo "$want" >"$stamp"
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
  # GitHub's own parser: expressions, contexts and keys as Actions reads them.
  { infra_tools && node infra/tools/workflow-lint.mjs .github/workflows/*.y*ml; } || rc=1
  return $rc
}

# dynalite, a DynamoDB-protocol server in node, for the fleet tests (tests/Deployer.Tests/Support/Dynalite.cs reads
# DYNALITE). Pinned, cached beside the workflow validator, reinstalled only when the version changes.
dynalite_tool() {
  local tools=$CACHE/tools/npm
  if ! grep -q "\"version\": \"$DYNALITE_VERSION\"" "$tools/node_modules/dynalite/package.json" 2>/dev/null; then
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "dynalite@$DYNALITE_VERSION" || return 1
  fi
  echo "dynalite $DYNALITE_VERSION: $tools/node_modules/dynalite/cli.js"
}
export DYNALITE=$CACHE/tools/npm/node_modules/dynalite/cli.js

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

# The CDK app's tests: jsii's runtime is not thread-safe (the tests run one at a time) and unpacks about 66 MB into
# TMPDIR per process, so TMPDIR is a scratch folder removed afterwards.
INFRA_TESTS=tests/Infra.Tests/Infra.Tests.csproj
infra_tests() {
  local scratch rc=0
  scratch=$(mktemp -d)
  TMPDIR=$scratch dotnet test "$INFRA_TESTS" --nologo \
    --logger "trx;LogFileName=Infra.Tests.trx" --results-directory "$RESULTS" || rc=1
  rm -rf "$scratch"
  [[ -f $RESULTS/Infra.Tests.trx ]] || { echo "Infra.Tests: no results (did not run)"; rc=1; }
  return $rc
}

# Every stack's template, with no AWS credentials; then cdk-nag (AwsSolutions, findings only as acknowledged in
# infra/nag-acknowledgements.json), the project's cfn-guard rules, and the generated IAM policy page.
TEMPLATES=$RESULTS/cloudformation
infra_synth() { infra_tools && infra/synth.sh "$TEMPLATES"; }
infra_nag() { (cd infra && node tools/nag.mjs "$TEMPLATES" nag-acknowledgements.json); }
infra_guard() {
  infra/node_modules/@cdklabs/cdk-validator-cfnguard/bin/ubuntu/x86_64/cfn-guard validate \
    -r infra/guard -d "$TEMPLATES" -d "$TEMPLATES/alb" --show-summary fail &&
    echo "cfn-guard: every template passes infra/guard"
}
infra_policies_doc() {
  if node infra/tools/policies-doc.mjs "$TEMPLATES" | diff -u docs/aws-policies.md -; then
    echo "docs/aws-policies.md matches the templates"
  else
    echo "docs/aws-policies.md is stale: node infra/tools/policies-doc.mjs DIR > docs/aws-policies.md (DIR from infra/synth.sh DIR)"
    return 1
  fi
}

# The test projects run side by side (most of their time is spent waiting on containers, not on the CPU), each
# Deployer.Tests shard in its own process. Tests that restart the Docker daemon stop every container on the engine,
# so they run alone, after everything else. Each shard's output goes to its own log, printed when it ends.
# shard: "name|project|filter" (an empty filter runs the whole project).
EXCLUSIVE_FILTER='FullyQualifiedName~DaemonRestartEndToEndTests'
# The end-to-end classes run in two processes, each one class at a time (its own images, registry and names): these
# classes in the first, every other one (new ones included) in the second. About 13 min each on a quiet host.
END_TO_END_FIRST=(BlueGreenEndToEndTests EdgeFaultEndToEndTests HardeningEndToEndTests SignatureEndToEndTests)
any_of() { local IFS='|' && echo "${*/#/FullyQualifiedName~.EndToEnd.}"; }
none_of() { local IFS='&' && echo "${*/#/FullyQualifiedName!~.EndToEnd.}"; }
test_shards() {
  local project name
  for project in $(grep -o 'tests/[^"]*\.csproj' StudentPerformance.slnx); do
    [[ $project == "$INFRA_TESTS" ]] && continue # its own step, "infra tests"
    name=$(basename "$project" .csproj)
    if [[ $name == Deployer.Tests ]]; then
      echo "$name.Unit|$project|FullyQualifiedName!~.EndToEnd."
      echo "$name.EndToEnd1|$project|$(any_of "${END_TO_END_FIRST[@]}")"
      echo "$name.EndToEnd2|$project|FullyQualifiedName~.EndToEnd.&$(negate "$EXCLUSIVE_FILTER")&$(none_of "${END_TO_END_FIRST[@]}")"
    else
      echo "$name|$project|"
    fi
  done
}
negate() { echo "${1/\~/!~}"; }

run_shard() {
  local name=$1 project=$2 filter=$3
  local -a args=("$project" --nologo --no-build
    --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" --blame-hang-timeout 15m)
  [[ -n $filter ]] && args+=(--filter "$filter")
  dotnet test "${args[@]}"
}

run_tests() {
  local rc=0 shard name project filter started
  local -a names=() pids=()
  while IFS='|' read -r name project filter; do
    printf -- '--- %s: started\n' "$name"
    run_shard "$name" "$project" "$filter" >"$RESULTS/$name.log" 2>&1 &
    names+=("$name") pids+=($!)
  done < <(test_shards)
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || rc=1
    printf -- '\n--- %s\n' "${names[$i]}"
    cat "$RESULTS/${names[$i]}.log"
  done
  # Alone, after the others: restarting the daemon would stop their containers.
  printf -- '\n--- Deployer.Tests.DaemonRestart\n'
  run_shard Deployer.Tests.DaemonRestart tests/Deployer.Tests/Deployer.Tests.csproj "$EXCLUSIVE_FILTER" || rc=1
  for name in "${names[@]}" Deployer.Tests.DaemonRestart; do
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
step "dynalite" dynalite_tool
# Locked: the restore may not change a committed packages.lock.json (after changing a package, run a plain
# `dotnet restore` and commit the lock files it updates).
step "restore (locked)" dotnet restore StudentPerformance.slnx --locked-mode
step "build" dotnet build StudentPerformance.slnx --nologo --no-restore -clp:ErrorsOnly
step "format" dotnet format StudentPerformance.slnx --verify-no-changes --no-restore
step "infra tests" infra_tests
if step "infra synth" infra_synth; then
  step "infra nag" infra_nag
  step "infra guard" infra_guard
  step "infra policies doc" infra_policies_doc
fi
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
