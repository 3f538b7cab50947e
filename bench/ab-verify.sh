#!/usr/bin/env bash
# Alternating runs of the verify suites (P1, P2, P3) in several source trees (ABCABC…),
# each its own `bench/run.ts --only P1,P2,P3` (both algorithms, so each tree's own
# bench/results/latest.json and BENCHMARKS.md are rewritten); one JSON line per run with
# the in-run ratios. A tree of an older commit: `git archive <commit> | tar -x -C <dir>`
# and a node_modules symlink. An environment variable per tree after a colon:
#   bench/ab-verify.sh 3 off=/tmp/base:TOLLGATE_ALLOW_LOG_SAMPLE_RATE=0 before=/tmp/base after=.
set -euo pipefail
rounds=$1; shift
for ((r = 1; r <= rounds; r++)); do
  for spec in "$@"; do
    label=${spec%%=*}; rest=${spec#*=}; dir=${rest%%:*}; envs=""
    [[ $rest == *:* ]] && envs=${rest#*:}
    (cd "$dir" && env $envs node --import tsx bench/run.ts --only P1,P2,P3 >/dev/null 2>&1) || echo "run failed: $label"
    python3 - "$dir/bench/results/latest.json" "$label" "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out = {'label': sys.argv[2], 'round': int(sys.argv[3])}
for f in d['figures']:
    if f['id'].startswith(('P1.', 'P3.')) and not f['id'].endswith('.cached') and not f['id'].endswith('jose'):
        out[f['id']] = f['comparison']['ratio']
    if f['id'].startswith('P1.'):
        out[f['id'] + '.rate'] = f['median']
    if f['id'].startswith('P2.'):
        out[f['id']] = f['median']
print(json.dumps(out))
PY
  done
done
