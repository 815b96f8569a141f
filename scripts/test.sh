#!/usr/bin/env bash
# The whole test suite: installs what the tests need, starts the services they use, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet format StudentPerformance.slnx --verify-no-changes
dotnet test StudentPerformance.slnx
