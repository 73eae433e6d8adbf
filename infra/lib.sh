# shellcheck shell=bash
# Variables here are used by the scripts that source this file.
# shellcheck disable=SC2034
# Shared helpers for the infra scripts. Sourced, never executed.
#
# Every script prints its progress to stderr: infra/up.sh's stdout is reserved for
# the `export ...` lines that `eval "$(npm run -s infra:up)"` consumes.

# The repository root, found from this file rather than $PWD, so the scripts
# behave the same when run from a subfolder (npm runs them from the root anyway).
INFRA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="${INFRA_ROOT}/infra"

# State (data, logs, pid files) lives in the work tree, ignored by git, so that
# deleting the checkout deletes the data, and two checkouts do not share a broker.
INFRA_STATE_DIR="$(realpath -m "${INFRA_STATE_DIR:-${INFRA_ROOT}/.infra}")"

# Downloaded jars are shared between checkouts and survive `reset`.
INFRA_CACHE_DIR="$(realpath -m "${INFRA_CACHE_DIR:-${HOME}/.cache/medical-infra}")"

log() {
  printf '[infra:%s] %s\n' "${INFRA_COMPONENT:-main}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# port_open HOST PORT: true if something accepts a TCP connection there.
# Uses bash's /dev/tcp so it needs neither nc nor ss; the timeout guards
# against a filtered port that would otherwise hang the connect.
port_open() {
  # shellcheck disable=SC2016 # $1/$2 expand in the child bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# pid_alive PID: true if the process exists (and is not a zombie).
pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/${pid}/stat" ]] || return 1
  # Field 3 of /proc/PID/stat is the state; Z means it already exited.
  state="$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != "Z" ]]
}

# pid_cmdline_has PID NEEDLE: guards against killing an unrelated process that
# reused a stale pid from a pid file.
pid_cmdline_has() {
  local pid="$1" needle="$2"
  [[ -r "/proc/${pid}/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "$needle"
}

# stop_pid PID NAME GRACE_SECONDS: SIGTERM, wait up to GRACE, then SIGKILL.
stop_pid() {
  local pid="$1" name="$2" grace="$3" waited=0
  pid_alive "$pid" || return 0
  log "stopping ${name} (pid ${pid})"
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid"; do
    if ((waited >= grace * 2)); then
      log "${name} did not stop within ${grace}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  if pid_alive "$pid"; then
    die "${name} (pid ${pid}) is still running"
  fi
  log "${name} stopped"
}

# tail_log FILE [LINES]: show the end of a log on stderr when something failed.
tail_log() {
  local file="$1" lines="${2:-40}"
  if [[ -f "$file" ]]; then
    log "last ${lines} lines of ${file}:"
    tail -n "$lines" "$file" >&2 || true
  else
    log "(no log at ${file})"
  fi
}
