#!/usr/bin/env bash
# Writes every stack's CloudFormation template into OUT, with no AWS credentials and no network:
#
#   infra/synth.sh OUT      # OUT/{Registry,CiIdentity,Host,Fleet}.template.json, and OUT/alb/Fleet.template.json
#                           # (the fleet's ALB option, -c fleetLoadBalancer=alb)
#
# It runs the same CDK CLI and app as `cdk deploy`, with the credentials chain emptied so nothing can reach AWS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: infra/synth.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# jsii unpacks its runtime (about 66 MB) into TMPDIR on every run and leaves it there.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

export CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# No credentials, and no instance metadata service to ask for them: the stacks are environment-agnostic.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

if [[ ! -x $here/node_modules/.bin/cdk ]]; then
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
fi
dotnet build "$here/Infra.csproj" --nologo -clp:ErrorsOnly -v:q
app="dotnet $here/bin/Debug/net10.0/Infra.dll"

cd "$here"
cdk() { ./node_modules/.bin/cdk "$@" --app "$app" --no-notices --no-version-reporting --ci --quiet; }
cdk synth -o "$scratch/cdk.out" >/dev/null
cdk synth -c fleetLoadBalancer=alb -o "$scratch/cdk.out.alb" >/dev/null

rm -f "$out"/*.template.json "$out"/alb/*.template.json
mkdir -p "$out/alb"
cp "$scratch"/cdk.out/*.template.json "$out/"
cp "$scratch"/cdk.out.alb/Fleet.template.json "$out/alb/"
ls "$out"/*.template.json "$out"/alb/*.template.json
