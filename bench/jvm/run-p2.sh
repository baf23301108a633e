#!/usr/bin/env bash
# Runs the Kafka Streams reference implementation of the P2 benchmark (issue 7).
#   bench/jvm/run-p2.sh --input T --output T [--count N] [--app-id ID] [--state-dir D] [--bootstrap B]
#   bench/jvm/run-p2.sh generate --topic T [--count N]        # writes the P2 input
#   bench/jvm/run-p2.sh verify --input T --output T [--count N]  # checks the output window by window
#   bench/jvm/run-p2.sh topics delete T...                    # deletes topics
# Builds target/p2-bench.jar (mvn, Maven Central once, then offline) when it is missing or older
# than the sources. Uses Java 25 at /usr/lib/jvm/temurin-25-jdk-amd64 if present (JAVA_HOME or
# P2_JAVA override it), else java on PATH. KAFKA_BOOTSTRAP_SERVERS defaults to the local stack's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/p2-bench.jar"

if [[ ! -f "$jar" || -n "$(find "$here/pom.xml" "$here/src" -newer "$jar" -type f -print -quit)" ]]; then
  command -v mvn >/dev/null || { echo "run-p2: Maven (mvn) is needed to build; apt-get install maven" >&2; exit 2; }
  echo "run-p2: building $jar ..." >&2
  # (Maven 3.8 prints stray colour codes even with -q: strip them.)
  (cd "$here" && mvn -q -B -Dstyle.color=never package) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
fi

if [[ -n "${P2_JAVA:-}" ]]; then
  java="$P2_JAVA"
elif [[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
  java=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  java="$JAVA_HOME/bin/java"
else
  java=java
fi

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  env_file="$here/../../.stack/stack.env"
  if [[ -f "$env_file" ]]; then
    KAFKA_BOOTSTRAP_SERVERS="$(sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' "$env_file")"
    export KAFKA_BOOTSTRAP_SERVERS
  fi
fi

main=bench.P2
case "${1:-}" in
  generate) main=bench.Generate; shift ;;
  verify) main=bench.Verify; shift ;;
  topics) main=bench.Topics; shift ;;
esac

exec "$java" -Xmx1g ${P2_JAVA_OPTS:-} -cp "$jar:$here/target/lib/*" "$main" "$@"
