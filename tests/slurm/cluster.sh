#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for tests/test_slurm.py: Debian's slurm-wlm and munge, with
# slurmdbd accounting on MariaDB so that submitit's sacct polling works. Needs root and apt.
#   tests/slurm/cluster.sh up     install what is missing, start munge, mariadb, slurmdbd, slurmctld, slurmd; wait idle
#   tests/slurm/cluster.sh down   stop the daemons this script started
# Prints one line; exit 0 when the cluster is up (or down), non-zero with the reason otherwise.
set -euo pipefail

STATE=/run/ppo-bench-slurm   # pid files of what `up` started
HOST=$(hostname -s)

log() { echo "slurm cluster: $*" >&2; }

install_packages() {
    local missing=()
    for cmd in slurmctld slurmd slurmdbd munged mariadbd sbatch; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || { echo "cannot install slurm-wlm: not root"; exit 3; }
    command -v apt-get >/dev/null || { echo "cannot install slurm-wlm: no apt-get"; exit 3; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm slurmdbd munge mariadb-server >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -q slurm-wlm slurmdbd munge mariadb-server >/dev/null 2>&1; } \
        || { echo "cannot install slurm-wlm slurmdbd munge mariadb-server with apt-get"; exit 3; }
}

write_configs() {
    local mem
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$STATE"
    cat > /etc/slurm/slurm.conf <<EOF
ClusterName=local
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$HOST CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=ppo-bench
StorageLoc=slurm_acct_db
PidFile=$STATE/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
EOF
    chmod 600 /etc/slurm/slurmdbd.conf
}

wait_for() {  # wait_for <seconds> <command...>
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

up() {
    install_packages
    write_configs
    [ -f /etc/munge/munge.key ] || mungekey --create >/dev/null 2>&1 || { echo "cannot create a munge key"; exit 4; }
    install -d -o munge -g munge -m 755 /run/munge
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
    install -d -o mysql -g mysql /run/mysqld
    if ! pgrep -x mariadbd >/dev/null; then
        setsid mariadbd --user=mysql --innodb-buffer-pool-size=32M --performance-schema=OFF \
            >/var/log/slurm/mariadb.log 2>&1 < /dev/null &
        echo $! > "$STATE/mariadbd.pid"
    fi
    wait_for 30 mariadb -e "select 1" || { echo "mariadb did not start"; exit 4; }
    mariadb -e "create database if not exists slurm_acct_db; create user if not exists 'slurm'@'localhost' \
        identified by 'ppo-bench'; grant all on slurm_acct_db.* to 'slurm'@'localhost';"
    pgrep -x slurmdbd >/dev/null || slurmdbd
    wait_for 30 bash -c "ss -ltn | grep -q ':6819 '" || { echo "slurmdbd did not start"; exit 4; }
    pgrep -x slurmctld >/dev/null || slurmctld -c
    pgrep -x slurmd >/dev/null || slurmd
    wait_for 60 bash -c "sinfo -h -o %T | grep -q idle" || { echo "the node did not become idle: $(sinfo 2>&1)"; exit 4; }
    echo "slurm cluster up: node $HOST, $(nproc) CPUs, partition debug, accounting on"
}

down() {
    for name in slurmd slurmctld slurmdbd; do
        [ -f "$STATE/$name.pid" ] && kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
        pkill -x "$name" 2>/dev/null || true
    done
    [ -f "$STATE/mariadbd.pid" ] && kill "$(cat "$STATE/mariadbd.pid")" 2>/dev/null || true
    echo "slurm cluster down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down"; exit 2 ;;
esac
