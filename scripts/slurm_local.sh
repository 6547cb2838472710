#!/usr/bin/env bash
# A SLURM cluster on this machine, for trying and testing the SLURM launcher (docs/cluster.md).
#
#   scripts/slurm_local.sh up      install slurm-wlm + munge if missing (apt-get), write /etc/slurm/slurm.conf
#                                  (this host as the one node, its cores and memory), start munged, slurmctld
#                                  and slurmd, wait until `sinfo` shows the node idle
#   SLURM_NODES=N scripts/slurm_local.sh up   (N > 1) N compute nodes node1..nodeN, each a slurmd in its own
#                                  namespaces (hostname, pid space, network: a veth pair on the bridge
#                                  ggslurm0, 10.77.0.1 for the controller, 10.77.0.1<i> for node i), sharing
#                                  this machine's filesystem as cluster nodes share a network filesystem;
#                                  the cores and memory split evenly among them
#   scripts/slurm_local.sh down    cancel every job, stop the daemons (by the pids they wrote), wait until
#                                  none is left; remove every namespace, veth and bridge `up` made
#   scripts/slurm_local.sh check   exit 0 if `up` can work here, else print one line saying why (exit 3)
#   scripts/slurm_local.sh status  sinfo and squeue
#
# Needs root (apt-get, daemons). A slurm.conf not written by this script is never touched: on a machine
# that is already part of a cluster, it refuses. State, logs and the job-completion log live under
# $GRADGROUP_SLURM_DIR (default /var/tmp/gradgroup-slurm); the job-completion log is
# $GRADGROUP_SLURM_DIR/jobcomp.log (JobCompType=jobcomp/filetxt), read by tests/test_slurm.py.
set -euo pipefail

DIR=${GRADGROUP_SLURM_DIR:-/var/tmp/gradgroup-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by gradgroup scripts/slurm_local.sh"
MUNGE_RUN=/run/munge
PARTITION=${GRADGROUP_SLURM_PARTITION:-local}
NODES=${SLURM_NODES:-1}
BRIDGE=ggslurm0
NET=10.77.0

say() { echo "slurm_local: $*"; }
die() { echo "slurm_local: $1" >&2; exit "${2:-1}"; }

# Why `up` cannot run here (one line), or nothing.
why_not() {
  if [ "$(id -u)" != 0 ]; then echo "not root (it installs slurm-wlm and munge and starts daemons)"; return; fi
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || { echo "slurm-wlm/munge are not installed and there is no apt-get"; return; }
  fi
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    echo "$CONF exists and was not written by this script (this host belongs to a real cluster)"; return
  fi
  local pid
  for pid in $(pidof slurmctld slurmd 2>/dev/null); do
    grep -qx "$pid" "$DIR"/*.pid 2>/dev/null || { echo "a slurmctld/slurmd not started by this script runs (pid $pid)"; return; }
  done
}

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return
  say "installing slurm-wlm and munge with apt-get (once, about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

shared_conf() {  # the settings every layout shares
  cat <<EOF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire also sets how long a requeued job waits before it starts again (default 120 s)
AuthInfo=cred_expire=10
StateSaveLocation=$DIR/ctld
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmctldLogFile=$DIR/slurmctld.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# Finished jobs stay visible to squeue/scontrol for a minute; their completion is logged below for good.
MinJobAge=60
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# A job may requeue itself (scontrol requeue) on SIGUSR1 or preemption; the requeued job starts at once.
JobRequeue=1
# SIGTERM to SIGKILL at a time limit or scancel: 30 s is common on real clusters; a node that shares its
# 1 CPU with a loaded host needed more to write a "stopped" record (a test saw "running" left behind at 30 s).
KillWait=90
ReturnToService=2
SlurmdTimeout=60
EOF
}

write_conf() {
  local host node cpus mem
  host=$(hostname -s)
  node=$(slurmd -C | head -1)            # NodeName=<host> CPUs=.. Boards=.. ... RealMemory=..: this machine
  cpus=$(sed -E 's/.*CPUs=([0-9]+).*/\1/' <<<"$node")
  mem=$(sed -E 's/.*RealMemory=([0-9]+).*/\1/' <<<"$node")
  mkdir -p "$DIR/ctld" "$DIR/spool" /etc/slurm
  [ -f "$DIR/jobcomp.log" ] && mv "$DIR/jobcomp.log" "$DIR/jobcomp.log.1"   # a fresh cluster, a fresh log
  if [ "$NODES" -gt 1 ]; then write_multi_conf "$host" "$cpus" "$mem"; return; fi
  cat >"$CONF" <<EOF
$MARK: a one-node cluster on localhost
# (remove with scripts/slurm_local.sh down; this file is rewritten by every 'up')
ClusterName=gradgroup
SlurmctldHost=$host(127.0.0.1)
$(shared_conf)
SlurmdSpoolDir=$DIR/spool
SlurmdPidFile=$DIR/slurmd.pid
SlurmdLogFile=$DIR/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  say "wrote $CONF: node $host with $cpus CPUs and $mem MB, partition $PARTITION, state in $DIR"
}

write_multi_conf() {  # host cpus mem: N nodes, each 1/N of the cores and memory, at the bridge's addresses
  local host=$1 cpus=$(( $2 / NODES )) mem=$(( $3 / NODES )) i
  [ "$cpus" -ge 1 ] || die "SLURM_NODES=$NODES is more nodes than this machine's $2 cores" 2
  {
    echo "$MARK: $NODES nodes in their own namespaces on $host"
    echo "# (remove with scripts/slurm_local.sh down; this file is rewritten by every 'up')"
    echo "ClusterName=gradgroup"
    echo "SlurmctldHost=$host($NET.1)"
    shared_conf   # the one-node file's settings; each node its own spool, pid and log files (%n: its name)
    echo "SlurmdSpoolDir=$DIR/spool/%n"
    echo "SlurmdPidFile=$DIR/spool/slurmd.%n.pid"
    echo "SlurmdLogFile=$DIR/slurmd.%n.log"
    echo "SlurmdParameters=config_overrides"   # a node is the share its line gives it, not the whole machine
    for i in $(seq 1 "$NODES"); do
      echo "NodeName=node$i NodeAddr=$NET.$((10 + i)) CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    done
    echo "PartitionName=$PARTITION Nodes=node[1-$NODES] Default=YES MaxTime=INFINITE State=UP"
  } >"$CONF.new"
  mv "$CONF.new" "$CONF"
  say "wrote $CONF: $NODES nodes with $cpus CPUs and $mem MB each, partition $PARTITION, state in $DIR"
}

made() { echo "$1" >>"$DIR/made"; }   # what `down` removes, one per line: bridge <name> | netns <name>

start_nodes() {  # the bridge; per node a network namespace on it (veth pair), slurmd in new uts/pid/mount ns
  local i ns addr
  ip link show "$BRIDGE" >/dev/null 2>&1 && die "$BRIDGE exists already: run 'scripts/slurm_local.sh down' first"
  ip link add "$BRIDGE" type bridge && made "bridge $BRIDGE"
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Each node reads its names from this file, bound over /etc/hosts in its own mount namespace only (the
  # host's file is untouched): node<i> and the controller's host resolve to their bridge addresses, as DDP's rendezvous needs.
  { echo "$NET.1 $(hostname -s)"; for i in $(seq 1 "$NODES"); do echo "$NET.$((10 + i)) node$i"; done; cat /etc/hosts; } >"$DIR/hosts"
  for i in $(seq 1 "$NODES"); do
    ns=ggnode$i addr=$NET.$((10 + i))
    ip netns add "$ns" && made "netns $ns"
    ip link add "ggv$i" type veth peer name eth0 netns "$ns"
    ip link set "ggv$i" master "$BRIDGE" up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    mkdir -p "$DIR/spool/node$i"
    # Its own hostname and pid space: the node's jobs see node<i>, and pids that mean nothing on the host.
    # --kill-child: stopping unshare (the pid written below) stops the node's slurmd, and its jobs with it.
    # nsenter, not `ip netns exec`: that remounts /sys for the namespace, hiding /sys/fs/cgroup from slurmd.
    nsenter --net=/run/netns/"$ns" unshare --uts --pid --mount --fork --mount-proc --kill-child=SIGTERM \
      sh -c "hostname node$i && mount --bind $DIR/hosts /etc/hosts && exec slurmd -D -N node$i -f $CONF" </dev/null >>"$DIR/node$i.out" 2>&1 &
    echo $! >"$DIR/node$i.pid"
  done
  sleep 2
  for i in $(seq 1 "$NODES"); do   # slurmd as the host sees it, so why_not knows it is ours
    pgrep -P "$(head -1 "$DIR/node$i.pid")" >>"$DIR/node$i.pid" || die "node$i's slurmd did not start: $DIR/node$i.out"
  done
}

stop_node() {  # node<i>.pid: unshare's pid (TERM: --kill-child passes it on to slurmd), then slurmd's host pid
  local pid i
  for pid in $(cat "$1"); do kill "$pid" 2>/dev/null || true; done
  for pid in $(cat "$1"); do
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  done
  rm -f "$1"
}

remove_made() {  # in reverse order: the namespaces (their veth ends go with them), then the bridge
  local kind name
  [ -f "$DIR/made" ] || return 0
  tac "$DIR/made" | while read -r kind name; do
    case "$kind" in
      netns) ip netns del "$name" 2>/dev/null || true ;;
      bridge) ip link del "$name" 2>/dev/null || true ;;
    esac
  done
  rm -f "$DIR/made"
}

start_munge() {
  if [ -f "$DIR/munged.pid" ] && kill -0 "$(cat "$DIR/munged.pid")" 2>/dev/null; then return; fi
  mkdir -p "$MUNGE_RUN" && chown munge:munge "$MUNGE_RUN" && chmod 0755 "$MUNGE_RUN"
  [ -s /etc/munge/munge.key ] || { /usr/sbin/mungekey --create >/dev/null 2>&1 || create-munge-key -f; chown munge:munge /etc/munge/munge.key; }
  runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_RUN/munged.pid"
  cp "$MUNGE_RUN/munged.pid" "$DIR/munged.pid"
}

wait_idle() {
  local i state
  for i in $(seq 1 60); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | sort -u | paste -sd' ' || true)
    if [ "$state" = idle ]; then say "up: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %t %N')"; return 0; fi
    if grep -qE 'down|drain' <<<"$state"; then
      scontrol update nodename="$(sinfo -h -N -o '%N' | sort -u | paste -sd,)" state=resume >/dev/null 2>&1 || true
    fi
    sleep 1
  done
  die "the node did not become idle within 60 s (sinfo: '${state:-no answer}'); logs: $DIR/slurmctld.log, $DIR/slurmd.log"
}

up() {
  local why; why=$(why_not)
  [ -z "$why" ] || die "cannot start a local cluster: $why" 3
  install_packages
  if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    say "already running"; wait_idle; return
  fi
  write_conf
  start_munge
  slurmctld -c -f "$CONF"   # -c: a fresh controller, no jobs carried over from an earlier 'up'
  if [ "$NODES" -gt 1 ]; then start_nodes; else slurmd -f "$CONF"; fi
  wait_idle
}

stop_pidfile() {  # stop_pidfile NAME: TERM the pid it wrote, then wait (KILL after 20 s)
  local f="$DIR/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$f"
}

down() {
  if command -v squeue >/dev/null && [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    local jobs i
    jobs=$(squeue -h -o %A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      say "cancelling $(wc -w <<<"$jobs") job(s)"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for i in $(seq 1 60); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 1; done
    fi
  fi
  stop_pidfile slurmd
  local f
  for f in "$DIR"/node*.pid; do [ -f "$f" ] && stop_node "$f"; done
  remove_made
  stop_pidfile slurmctld
  stop_pidfile munged
  local left; left=$(pidof slurmctld slurmd munged 2>/dev/null || true)
  [ -z "$left" ] || die "still running after down: pid(s) $left (not started by this script?)"
  left=$( (ip -o link show; ip netns list) 2>/dev/null | grep -oE "$BRIDGE|ggv[0-9]+|^ggnode[0-9]+" | sort -u | paste -sd' ' || true)
  [ -z "$left" ] || die "still there after down: $left"
  say "down: no slurmctld, slurmd or munged left, no namespace, veth or bridge"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  check) why=$(why_not); [ -z "$why" ] || { echo "$why"; exit 3; } ;;
  status) sinfo; squeue ;;
  *) die "usage: $0 up|down|check|status" 2 ;;
esac
