import fs from 'node:fs';

/**
 * The processes of the production profile's infrastructure on this machine, so that their CPU
 * is counted as the system's and nobody else's: the Kafka broker that listens on KAFKA_BROKERS'
 * port, and the PostgreSQL server that listens on DATABASE_URL's port with those of its
 * processes that work for the system's database or for the whole server (the checkpointer, the
 * WAL writer...), not its other databases' connections. Found through /proc: the listening
 * socket's inode in /proc/net/tcp{,6}, then the process holding it among /proc/<pid>/fd. Other
 * brokers and servers on the machine (another checkout's, a test's own) are left out.
 */

export type Infrastructure = {
  kafkaPid: number | null;
  postgres: { postmasterPid: number; database: string } | null;
};

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXADDR:HEXPORT; state 0A is LISTEN; the inode is the tenth field.
      if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** The process whose name is `comm` and that listens on TCP `port` here, or null. */
export function listenerPid(port: number, comm: string): number | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    for (const fd of fds) {
      // A busy broker opens and closes files all the time: an fd listed a moment ago may be gone,
      // which must not end the search through this process (the broker went unfound in one run).
      const target = readlinkOrNull(`/proc/${entry}/fd/${fd}`);
      if (target?.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
    }
  }
  return null;
}

function readlinkOrNull(path: string): string | null {
  try {
    return fs.readlinkSync(path);
  } catch {
    return null;
  }
}

function portOf(address: string | undefined, fallback: number): number {
  const port = Number(address?.split(':').pop());
  return Number.isInteger(port) && port > 0 ? port : fallback;
}

/** The broker and the PostgreSQL server of the production profile, when they run on this machine. */
export function findInfrastructure(env: { kafkaBrokers?: string; databaseUrl?: string; database?: string }): Infrastructure {
  const kafkaPid = env.kafkaBrokers ? listenerPid(portOf(env.kafkaBrokers.split(',')[0]!.trim(), 9092), 'java') : null;
  let postmasterPid: number | null = null;
  if (env.databaseUrl && env.database) {
    const url = new URL(env.databaseUrl);
    postmasterPid = listenerPid(Number(url.port || 5432), 'postgres');
  }
  return { kafkaPid, postgres: postmasterPid !== null && env.database ? { postmasterPid, database: env.database } : null };
}

/** Whether a PostgreSQL process title is a connection to a database ("user db host(port) state", "[local]"), an autovacuum worker in one, or the server's own. */
function worksFor(title: string, database: string): boolean {
  const connection = /\(\d+\)|\[local\]/.test(title);
  const vacuuming = title.includes('autovacuum worker');
  if (!connection && !vacuuming) return true;
  return title.split(/\s+/).includes(database);
}

/** The server's processes that work for `database` or for the whole server: the postmaster and those of its children. */
export function postgresPids(postgres: NonNullable<Infrastructure['postgres']>): number[] {
  const pids = [postgres.postmasterPid];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== postgres.postmasterPid) continue;
      const title = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (worksFor(title, postgres.database)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
