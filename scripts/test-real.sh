#!/usr/bin/env bash
# make test-real: the tests tagged realservers against a real FreeSWITCH and a real
# Asterisk. Point them at your own servers with
#   CALLPLANE_REAL_FS_ESL=host:port CALLPLANE_REAL_FS_PASSWORD=... CALLPLANE_REAL_FS_DIAL='sofia/...{number}...'
#   CALLPLANE_REAL_ARI_URL=http://host:8088 CALLPLANE_REAL_ARI_USER=... CALLPLANE_REAL_ARI_PASSWORD=... CALLPLANE_REAL_ARI_DIAL='PJSIP/{number}@...'
# (the dial templates must reach a callee that decides by the dialled number, as
# ../shared/rigs' rig-callee does; CALLPLANE_REAL_CALLEE_LOG, its log of INVITEs, lets the
# kill -9 test count what the callee received). When neither server is given and ../shared/rigs/rig
# exists, the rigs are started; a server that does not come up is skipped with its reason.
# With no server at all the run is skipped with a message and succeeds.
set -uo pipefail
cd "$(dirname "$0")/.."
rig=../shared/rigs/rig

if [ -z "${CALLPLANE_REAL_FS_ESL:-}${CALLPLANE_REAL_ARI_URL:-}" ] && [ -x "$rig" ]; then
  if "$rig" up freeswitch; then
    export CALLPLANE_REAL_FS_ESL=127.0.0.1:8021 CALLPLANE_REAL_FS_PASSWORD=ClueCon
    export CALLPLANE_REAL_FS_DIAL='sofia/internal/{number}@127.0.0.1:5175'
    CALLPLANE_REAL_CALLEE_LOG="$("$rig" path callee-log)" && export CALLPLANE_REAL_CALLEE_LOG
  else
    echo "test-real: the FreeSWITCH rig did not start (above): its tests are skipped" >&2
  fi
  if "$rig" up asterisk; then
    export CALLPLANE_REAL_ARI_URL=http://127.0.0.1:8088 CALLPLANE_REAL_ARI_USER=dialer CALLPLANE_REAL_ARI_PASSWORD=dialerpass
    export CALLPLANE_REAL_ARI_DIAL='PJSIP/{number}@sipp-router'
  else
    echo "test-real: the Asterisk rig did not start (above): its tests are skipped" >&2
  fi
fi
if [ -z "${CALLPLANE_REAL_FS_ESL:-}${CALLPLANE_REAL_ARI_URL:-}" ]; then
  echo "test-real: no real server (set CALLPLANE_REAL_FS_* or CALLPLANE_REAL_ARI_*, or provide ../shared/rigs/rig): skipped"
  exit 0
fi
echo "test-real: FreeSWITCH ${CALLPLANE_REAL_FS_ESL:-none}, Asterisk ${CALLPLANE_REAL_ARI_URL:-none}"
go test -tags realservers -count=1 -race -run '^TestReal' ./eslbridge/ ./ari/ ./controller/
