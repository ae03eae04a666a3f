#!/usr/bin/env sh
echo lint
