#!/usr/bin/env bash
# System parts the tests use but pip cannot install: Debian's chromium for the browser check of the report.
# Safe to run twice; without root or apt-get it says what it skipped (the browser test then skips itself).
set -u
if command -v chromium >/dev/null 2>&1; then echo "chromium present: $(chromium --version 2>/dev/null)"; exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then echo "no apt-get here: install chromium yourself for the browser test"; exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
  && echo "installed $(chromium --version 2>/dev/null)" \
  || echo "warning: could not install chromium; the browser test will skip"
