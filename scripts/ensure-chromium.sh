#!/usr/bin/env bash
# The docs-site test drives Debian's chromium through chromedriver. Install
# both when either is missing and we may (root with apt-get); otherwise say
# what to install and stop. Called by the test itself, so `make test` on a
# fresh machine needs no manual step.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing chromium and chromium-driver" >&2
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
  exit 0
fi
echo "ensure-chromium: the docs test needs chromium and chromedriver." >&2
echo "  Install them (Debian: apt-get install chromium chromium-driver)" >&2
echo "  and run the tests again." >&2
exit 1
