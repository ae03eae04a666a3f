#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/../infra/web"
pulumi up --yes --stack prod
cd ../db
pulumi up --yes
cd ../../scripts
pushd ../infra/db/schema
psql -f init.sql
popd
for p in web db; do (cd "../infra/$p" && pulumi preview); done
cd "$INFRA_ROOT/web"
pulumi stack output
