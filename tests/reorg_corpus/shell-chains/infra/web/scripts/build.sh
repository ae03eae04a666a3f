#!/usr/bin/env sh
# Runs from infra/web/scripts: up to the project, then over to the database project.
cd ..
npm ci
cd ../db && ls schema
