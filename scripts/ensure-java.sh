#!/usr/bin/env bash
# Spark needs a Java 17 runtime. Install Debian's when it is missing and we
# may (root with apt-get); otherwise say what to install and stop.
set -euo pipefail

if command -v java >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-java: no java on PATH; installing openjdk-17-jre-headless" >&2
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless
  exit 0
fi
echo "ensure-java: Spark needs Java 17 and none is on PATH." >&2
echo "  Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)" >&2
echo "  or set JAVA_HOME and put \$JAVA_HOME/bin on PATH, then run make again." >&2
exit 1
