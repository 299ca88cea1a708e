#!/usr/bin/env bash
# Integration test: run the demo workflow on a REAL single-node SLURM cluster on
# this machine (Debian's slurm-wlm + munge, slurmctld and slurmd on localhost)
# through profiles/slurm (snakemake-executor-plugin-slurm), run it once more
# locally, and check that the two results/ trees are byte-identical.
#
#   sudo tests/slurm/run_slurm_test.sh            # Study A (config/config.yaml)
#   STUDY=mini tests/slurm/run_slurm_test.sh      # the small test study
#
# Needs root (installs packages if missing, starts daemons). Everything the test
# creates lives in one work folder (WORK, default a fresh /tmp/concord-slurm.*):
# slurm.conf, munge key and socket, daemon state and logs, and the two run
# folders. The daemons it started are stopped on exit, whatever the outcome.
# Exit status: 0 only if the SLURM run succeeded, every job went through SLURM
# and completed, and results/ is identical to the local run; 77 (skipped) when it
# cannot run here (not root, or apt-get cannot install slurm-wlm and munge).
set -euo pipefail

# The whole script is one function, read in full before it runs: editing this
# file during a run cannot change what the run executes.
main() {
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
STUDY=${STUDY:-a}
WORK=${WORK:-$(mktemp -d /tmp/concord-slurm.XXXXXX)}
SLURM_USER=${SLURM_USER:-root}      # SlurmUser (root or an existing user, e.g. slurm)
CLUSTER=concordtest

log() { printf '\n== %s ==\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: run as root (it installs slurm-wlm/munge and starts their daemons)" >&2; exit 77; }
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
T0=$(date +%s)

# --- 1. software ---------------------------------------------------------------
log "software"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  # no package manager or no mirror is the machine's problem, not the workflow's:
  # exit 77 (skipped), which .ci/run reports instead of failing
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq slurm-wlm munge >/dev/null; } \
    || { echo "SKIP: could not install slurm-wlm and munge with apt-get" >&2; exit 77; }
fi
"$PY" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
  || die "snakemake-executor-plugin-slurm is not installed in $PY (pip install -r requirements.lock)"
echo "slurm: $(slurmctld -V)   munge: $(munged --version 2>&1 | head -1)"
"$PY" -m pip list 2>/dev/null | grep -iE '^(snakemake|snakemake-executor-plugin-slurm(-jobstep)?) ' || true

# --- 2. configuration: one node = this machine ------------------------------------
S=$WORK/cluster
mkdir -p "$S/etc" "$S/state" "$S/spool" "$S/log" "$S/run" "$S/munge"
HOST=$(hostname -s)
# CPUs, sockets, cores, threads and memory exactly as slurmd detects them
NODE_HW=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
# The configuration must be at Slurm's default path, /etc/slurm/slurm.conf: the
# jobstep plugin (snakemake-executor-plugin-slurm-jobstep 0.6.1) drops every
# SLURM_* variable, SLURM_CONF included, before its srun inside the job, so a
# private SLURM_CONF reaches sbatch but not srun. An existing slurm.conf (some
# other cluster) is never overwritten: the test stops instead.
SYS_CONF=/etc/slurm/slurm.conf
MARK="# Written by tests/slurm/run_slurm_test.sh"
if [ -e "$SYS_CONF" ] && ! head -1 "$SYS_CONF" | grep -qF "$MARK"; then
  die "$SYS_CONF exists and was not written by this test: not touching another cluster's configuration"
fi
if [ -e "$SYS_CONF" ] && [ -s "$(sed -n 's/^SlurmctldPidFile=//p' "$SYS_CONF")" ] \
   && kill -0 "$(cat "$(sed -n 's/^SlurmctldPidFile=//p' "$SYS_CONF")")" 2>/dev/null; then
  die "another run of this test is using $SYS_CONF (its slurmctld is running)"
fi
mkdir -p /etc/slurm
unset SLURM_CONF          # clients and daemons: the default path, like on a cluster
CONF=$S/etc/slurm.conf
cat >"$CONF" <<EOF
$MARK: a one-node cluster on localhost ($WORK).
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=$SLURM_USER
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.socket
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups, no systemd in a container: track processes through /proc
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no slurmdbd: job records stay in slurmctld (sacct and squeue ask it) for an
# hour, and every finished job is appended to a plain-text completion log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
MinJobAge=3600
# several jobs share the node, allocated by core and memory
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 $NODE_HW State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
if [ "$SLURM_USER" != root ]; then
  id "$SLURM_USER" >/dev/null || die "SLURM_USER=$SLURM_USER does not exist"
  chown -R "$SLURM_USER" "$S/state" "$S/log" "$S/run"
  chmod 0755 "$WORK" "$S"   # mktemp -d makes 0700 folders: let slurmctld reach its own
fi
cp "$CONF" "$SYS_CONF"
echo "node: $HOST $NODE_HW"

# --- 3. daemons ------------------------------------------------------------------
STARTED=()
stop_daemons() {
  local rc=$?
  log "stopping daemons"
  for name in slurmd slurmctld munged; do
    local pidf=$S/run/$name.pid
    [ -s "$pidf" ] || continue
    local pid; pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" && echo "stopped $name (pid $pid)"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  if [ -e "$SYS_CONF" ] && cmp -s "$SYS_CONF" "$CONF"; then
    rm -f "$SYS_CONF" && echo "removed $SYS_CONF"
  fi
  echo "wall time: $(( $(date +%s) - T0 )) s; work folder: $WORK"
  [ "$rc" = 0 ] && echo "SLURM INTEGRATION TEST: PASS" || echo "SLURM INTEGRATION TEST: FAIL (exit $rc)"
  exit "$rc"
}
trap stop_daemons EXIT

log "starting munged, slurmctld, slurmd"
# a private munge key and socket: nothing of an existing munge set-up is touched
dd if=/dev/urandom bs=1 count=1024 of="$S/munge/munge.key" status=none
chmod 0400 "$S/munge/munge.key"
chmod 0700 "$S/munge"
munged --force --key-file="$S/munge/munge.key" --socket="$S/munge/munge.socket" \
  --pid-file="$S/run/munged.pid" --log-file="$S/log/munged.log" --seed-file="$S/munge/munged.seed"
munge --socket="$S/munge/munge.socket" -n | unmunge --socket="$S/munge/munge.socket" >/dev/null \
  || die "munge round trip failed (see $S/log/munged.log)"
chmod 0755 "$S/munge"   # slurm (any user) connects to the socket
chmod 0777 "$S/munge/munge.socket"

slurmctld -i || { cat "$S/log/slurmctld.log"; die "slurmctld did not start"; }
slurmd || { cat "$S/log/slurmd.log"; die "slurmd did not start"; }

for i in $(seq 60); do
  state=$(sinfo -h -N -n "$HOST" -o '%t' 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 1
done
sinfo
[ "$state" = idle ] || { tail -20 "$S/log/slurmctld.log" "$S/log/slurmd.log"; die "node $HOST not idle after 60 s (state '$state')"; }
if [ -n "${SETUP_ONLY:-}" ]; then   # debugging: leave the cluster running
  trap - EXIT
  echo "cluster left running; stop it with: rm $SYS_CONF; kill \$(cat $S/run/{slurmd,slurmctld,munged}.pid)"
  exit 0
fi

# --- 4. the workflow, twice: locally and through SLURM -----------------------------
# Both runs use one frozen copy of the working tree (Snakefile, workflow/, config/,
# resources/, profiles/, tests/data/mini), and the concord package is imported
# from it (PYTHONPATH, which sbatch --export=ALL passes on to the jobs): an edit
# to the working tree during the test cannot make the two runs differ. The copy
# is not a git checkout, so the manifest's commit column reads "unknown" in both.
SRC=$WORK/src
mkdir -p "$SRC/tests/data"
cp -r "$REPO/Snakefile" "$REPO/workflow" "$REPO/config" "$REPO/resources" "$REPO/profiles" "$SRC/"
cp -r "$REPO/tests/data/mini" "$SRC/tests/data/"
find "$SRC" -name __pycache__ -prune -exec rm -rf {} +
export PYTHONPATH=$SRC/workflow/scripts${PYTHONPATH:+:$PYTHONPATH}
"$PY" -c "import concord, sys; assert concord.__file__.startswith('$SRC/'), concord.__file__" \
  || die "concord is not imported from the frozen copy $SRC"

# Two isolated run folders with the same inputs: Study A (config, resources and
# workflow of the copy, symlinked) or the mini test study (copied).
setup_run() {  # folder
  local d=$1
  mkdir -p "$d"
  if [ "$STUDY" = mini ]; then
    cp -r "$SRC/tests/data/mini/." "$d/"
    "$PY" - "$d/config.yaml" "$SRC" <<'PYEOF'
import sys, yaml
path, repo = sys.argv[1], sys.argv[2]
cfg = yaml.safe_load(open(path, encoding="utf-8"))
cfg["manuscript"]["source"] = f"{repo}/workflow/report/manuscript.qmd"
cfg["manuscript"]["bibliography"] = f"{repo}/workflow/report/references.bib"
open(path, "w", encoding="utf-8").write(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
PYEOF
  else
    ln -sfn "$SRC/config" "$d/config"
    ln -sfn "$SRC/resources" "$d/resources"
    ln -sfn "$SRC/workflow" "$d/workflow"
  fi
}
snakemake_in() {  # folder, args...
  local d=$1; shift
  local extra=()
  [ "$STUDY" = mini ] && extra=(--configfile "$d/config.yaml")
  (cd "$d" && XDG_CACHE_HOME="$d/.cache" "$PY" -m snakemake --snakefile "$SRC/Snakefile" \
     --directory "$d" "${extra[@]}" "$@")
}

LOCAL=$WORK/run-local
SLURMRUN=$WORK/run-slurm
setup_run "$LOCAL"
setup_run "$SLURMRUN"

log "local run (--cores 2) in $LOCAL"
t=$(date +%s)
snakemake_in "$LOCAL" --cores 2 >"$WORK/local.log" 2>&1 \
  || { tail -50 "$WORK/local.log"; die "local run failed (log: $WORK/local.log)"; }
LOCAL_S=$(( $(date +%s) - t ))
grep -E 'steps \(100%\) done' "$WORK/local.log" | tail -1
echo "local run: $LOCAL_S s"

log "SLURM run (--profile profiles/slurm) in $SLURMRUN"
t=$(date +%s)
# The test cluster has no slurmdbd, so sacct answers "Slurm accounting storage is
# disabled": job states come from squeue, which keeps finished jobs for MinJobAge
# (1 h). The plugin finds no account to guess and submits without -A.
snakemake_in "$SLURMRUN" --profile "$SRC/profiles/slurm" --slurm-status-command squeue \
  --slurm-keep-successful-logs >"$WORK/slurm.log" 2>&1 \
  || { tail -80 "$WORK/slurm.log"; tail -20 "$S/log/slurmctld.log"; die "SLURM run failed (log: $WORK/slurm.log)"; }
SLURM_S=$(( $(date +%s) - t ))
grep -E 'steps \(100%\) done' "$WORK/slurm.log" | tail -1
echo "SLURM run: $SLURM_S s"

# --- 5. evidence: the jobs ran as SLURM jobs -------------------------------------
log "SLURM evidence"
echo "submissions reported by Snakemake:"
grep -oE 'Job [^ ]+ has been submitted with SLURM jobid [0-9]+[^)]*\)?' "$WORK/slurm.log" | sed 's/^/  /' || true
N_SUBMITTED=$(grep -cE 'has been submitted with SLURM jobid' "$WORK/slurm.log" || true)
N_STEPS=$(grep -oE '[0-9]+ of [0-9]+ steps \(100%\) done' "$WORK/slurm.log" | tail -1 | cut -d' ' -f1)
echo
echo "sacct (no slurmdbd on this test cluster):"
sacct -X 2>&1 | sed 's/^/  /' || true
echo
echo "squeue --states=all (slurmctld keeps finished jobs for MinJobAge):"
squeue --states=all --format='%.6i %.38j %.40k %.10T %.8M %N' | sed 's/^/  /'
echo
echo "job completion log ($S/log/jobcomp.txt):"
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|JobState|StartTime|EndTime|NodeList|Tres)=/) printf "%s ", $i; print "" }' \
  "$S/log/jobcomp.txt" | sed 's/^/  /'
N_DONE=$(grep -c 'JobState=COMPLETED' "$S/log/jobcomp.txt" || true)
N_BAD=$(grep -vc 'JobState=COMPLETED' "$S/log/jobcomp.txt" || true)
echo
# every step but the target rule `all` (a local rule, no work) ran inside SLURM
LOCAL_RULES=$(grep -oE '^localrule [A-Za-z0-9_]+' "$WORK/slurm.log" | sort -u | tr '\n' ' ')
echo "Snakemake steps: $N_STEPS; run locally: ${LOCAL_RULES:-none}; SLURM submissions: $N_SUBMITTED;" \
     "SLURM jobs COMPLETED: $N_DONE, other states: $N_BAD"
[ "$LOCAL_RULES" = "localrule all " ] || die "steps other than rule all ran outside SLURM: $LOCAL_RULES"
[ "$N_SUBMITTED" -gt 0 ] || die "no job was submitted to SLURM"
[ "$N_BAD" = 0 ] || die "$N_BAD SLURM jobs did not complete"
[ "$N_DONE" = "$N_SUBMITTED" ] || die "SLURM completed $N_DONE jobs, Snakemake submitted $N_SUBMITTED"
[ -z "$(squeue -h)" ] || die "jobs still in the queue"

# --- 6. results/: byte for byte ---------------------------------------------------
log "comparing results/ (local vs SLURM), byte for byte"
(cd "$LOCAL" && find results -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/local.sha256"
(cd "$SLURMRUN" && find results -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/slurm.sha256"
echo "files: local $(wc -l <"$WORK/local.sha256"), SLURM $(wc -l <"$WORK/slurm.sha256")"
if ! diff "$WORK/local.sha256" "$WORK/slurm.sha256"; then
  diff -r -q "$LOCAL/results" "$SLURMRUN/results" || true
  die "results/ differ between the local and the SLURM run"
fi
diff -r --no-dereference "$LOCAL/results" "$SLURMRUN/results" >/dev/null \
  || die "results/ differ (diff -r)"
echo "results/ identical: $(wc -l <"$WORK/local.sha256") files, $(du -sb "$LOCAL/results" | cut -f1) bytes"
echo "wall time: local $LOCAL_S s, SLURM $SLURM_S s"
}

main "$@"
